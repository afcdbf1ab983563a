/**
 * Real `reprod daemon` processes on one PostgreSQL, for the scale-out tests: each
 * daemon is test/daemon/daemon-child.ts (the daemon with ContainerRunner: every job
 * is a real container build) with its own data dir, audit log and worker id, as on
 * its own machine. They share the database, the feed folder (only the elected
 * leader reads it) and the output tree, and all post to one webhook collector.
 * checkPublishedOnce() reads every trace a publication leaves (store, output tree,
 * each daemon's audit log, webhook events) and fails on any job published twice.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { PostgresStore } from '../../src/store/postgres.ts';
import type { Job } from '../../src/store/types.ts';
import { ContainerRunner, TEST_TOKEN } from '../support/daemon.ts';

const CHILD = fileURLToPath(new URL('../daemon/daemon-child.ts', import.meta.url));
const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));

export interface WebhookEvent {
  event: string;
  jobId: string;
  attempt: number;
}

/** An HTTP server on 127.0.0.1 that records the daemons' webhook events. */
export async function webhookCollector(): Promise<{ url: string; events: WebhookEvent[]; close(): Promise<void> }> {
  const events: WebhookEvent[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      events.push(JSON.parse(body) as WebhookEvent);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    events,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export interface ClusterOptions {
  dir: string;
  pgUrl: string;
  image: string;
  hookUrl: string;
  /** Extra `daemon:` settings for every daemon. */
  daemon?: Record<string, unknown>;
}

export interface DaemonProcess {
  /** Worker id (daemon.workerId) and folder name. */
  name: string;
  proc: ChildProcess;
  url: string;
  dataDir: string;
  /** Label value of this daemon's build containers. */
  runId: string;
  exit: Promise<number | null>;
  /** Parsed JSON log lines (stderr). */
  logs: { level: number; msg: string; [k: string]: unknown }[];
}

/** The folders every daemon shares: the feed folder and the output tree. */
export function sharedDirs(dir: string): { feedDir: string; outDir: string } {
  return { feedDir: join(dir, 'in'), outDir: join(dir, 'out') };
}

/** Starts one daemon process; resolves when it serves its API. */
export async function startDaemon(name: string, o: ClusterOptions): Promise<DaemonProcess> {
  const { feedDir, outDir } = sharedDirs(o.dir);
  const home = join(o.dir, name);
  const dataDir = join(home, 'data');
  await mkdir(feedDir, { recursive: true });
  await mkdir(dataDir, { recursive: true });
  const config = {
    dataDir,
    store: { postgres: { url: o.pgUrl } },
    daemon: {
      workerId: name,
      concurrency: 1,
      claimPollMs: 100,
      leaseSeconds: 10,
      heartbeatSeconds: 1,
      retryBaseSeconds: 0.2,
      retryMaxSeconds: 1,
      shutdownGraceSeconds: 5,
      outDir,
      feeds: [{ type: 'directory', name: 'drop', path: feedDir, intervalSeconds: 0.2 }],
      webhook: { url: o.hookUrl, retries: 2 },
      api: { port: 0, token: TEST_TOKEN },
      ...o.daemon,
    },
  };
  const configPath = join(home, 'reprod.yaml');
  await writeFile(configPath, JSON.stringify(config, null, 2));
  const runId = `${name}-${process.pid}-${Date.now().toString(36)}`;
  const proc = spawn(NODE, [CHILD, configPath], {
    env: { ...process.env, DAEMON_TEST_IMAGE: o.image, DAEMON_TEST_RUN_ID: runId, DAEMON_TEST_STAGING: join(dataDir, 'staging'), REPROD_LOG_LEVEL: 'warn', REPROD_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: DaemonProcess['logs'] = [];
  createInterface({ input: proc.stderr! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as DaemonProcess['logs'][number]);
    } catch {
      logs.push({ level: 50, msg: line });
    }
  });
  const exit = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const line = await new Promise<string>((ok, fail) => {
    createInterface({ input: proc.stdout! }).once('line', ok);
    void exit.then((c) => fail(new Error(`daemon ${name} exited ${c} before it was ready: ${logs.map((l) => l.msg).join('\n')}`)));
  });
  return { name, proc, url: (JSON.parse(line) as { url: string }).url, dataDir, runId, exit, logs };
}

/** Removes the build containers a daemon left behind (after kill -9). */
export async function removeContainersOf(d: DaemonProcess, image: string): Promise<void> {
  await new ContainerRunner({ image, stagingDir: d.dataDir, runId: d.runId }).recover();
}

/** Containers a daemon is running now. */
export async function containersOf(d: DaemonProcess, image: string): Promise<string[]> {
  return new ContainerRunner({ image, stagingDir: d.dataDir, runId: d.runId }).containers();
}

async function auditVerdicts(d: DaemonProcess): Promise<string[]> {
  const text = await readFile(join(d.dataDir, 'audit.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; jobId?: string })
    .filter((e) => e.type === 'job-verdict')
    .map((e) => e.jobId!);
}

/**
 * Every job is done with a verdict, and each left exactly one publication: one
 * webhook `verdict` event and one audit entry over all daemons (in the publisher's
 * own log), and one output folder whose verdict.json names the attempt the store
 * recorded as published.
 */
export async function checkPublishedOnce(c: { dir: string; store: PostgresStore; daemons: DaemonProcess[]; events: WebhookEvent[]; expectedJobs: number }): Promise<Job[]> {
  const { store, daemons, events, expectedJobs } = c;
  const jobs = await store.jobs({ limit: 10_000 });
  assert.equal(jobs.length, expectedJobs, 'each attestation ingested once');
  assert.deepEqual(await store.countByState(), { queued: 0, running: 0, done: expectedJobs, error: 0 });
  const audit = new Map<string, string[]>();
  for (const d of daemons) for (const id of await auditVerdicts(d)) audit.set(id, [...(audit.get(id) ?? []), d.name]);
  const { outDir } = sharedDirs(c.dir);
  assert.equal((await readdir(outDir)).length, expectedJobs, 'one output folder per subject');
  for (const job of jobs) {
    assert.equal(job.outcome, 'reproduced', `job ${job.id}`);
    assert.equal(job.published, true);
    assert.ok(daemons.some((d) => d.name === job.publishedBy), `published by a daemon: ${job.publishedBy}`);
    const hooks = events.filter((e) => e.event === 'verdict' && e.jobId === job.id);
    assert.deepEqual(hooks.map((e) => e.attempt), [job.attempt], `job ${job.id}: one webhook verdict, from the recorded attempt`);
    assert.deepEqual(audit.get(job.id), [job.publishedBy], `job ${job.id}: one audit entry, in the publisher's log`);
    const folder = join(outDir, job.subject.sha256);
    assert.deepEqual((await readdir(folder)).sort(), ['rebuild.sigstore.json', 'verdict.json', 'vsa.sigstore.json']);
    const verdict = JSON.parse(await readFile(join(folder, 'verdict.json'), 'utf8')) as { jobId: string; attempt: number; outcome: string };
    assert.deepEqual([verdict.jobId, verdict.attempt, verdict.outcome], [job.id, job.attempt, 'reproduced']);
  }
  return jobs;
}
