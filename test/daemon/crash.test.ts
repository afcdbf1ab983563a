/**
 * Crash safety and graceful shutdown with the daemon as a real child process and
 * real containers: kill -9 mid-build then restart gives exactly one verdict and
 * one attestation set; SIGTERM lets a build finish within the grace period, or
 * hands it back to the queue after it, and exits 0.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { SqliteStore } from '../../src/store/sqlite.ts';
import type { Job } from '../../src/store/types.ts';
import { minbaseImage } from '../support/daemon-image.ts';
import { ContainerRunner, daemonWorkspace, dropFile, sha256, shellAttestation, waitFor } from '../support/daemon.ts';

const CHILD = fileURLToPath(new URL('./daemon-child.ts', import.meta.url));
const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
let image: string;
let hooks: Server;
let hookUrl: string;
const events: { event: string; jobId: string }[] = [];

before(async () => {
  image = await minbaseImage();
  hooks = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      events.push(JSON.parse(body) as { event: string; jobId: string });
      res.end();
    });
  });
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/`;
});
after(() => hooks.close());

interface Child {
  proc: ChildProcess;
  url: string;
  exit: Promise<number | null>;
}

async function spawnDaemon(configPath: string, dataDir: string, runId: string): Promise<Child> {
  const proc = spawn(NODE, [CHILD, configPath], {
    env: { ...process.env, DAEMON_TEST_IMAGE: image, DAEMON_TEST_RUN_ID: runId, DAEMON_TEST_STAGING: join(dataDir, 'staging'), REPROD_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exit = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const line = await new Promise<string>((ok, fail) => {
    const rl = createInterface({ input: proc.stdout! });
    rl.once('line', ok);
    proc.once('exit', (c) => fail(new Error(`daemon exited ${c} before it was ready`)));
  });
  return { proc, url: (JSON.parse(line) as { url: string }).url, exit };
}

async function jobsOf(url: string): Promise<Job[]> {
  const res = await fetch(`${url}/v1/jobs`);
  return ((await res.json()) as { jobs: Job[] }).jobs;
}

test('kill -9 mid-build, restart: the job is re-run, its orphan container removed, one verdict and one attestation set published', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-crash-'));
  const runId = `crash-${randomBytes(4).toString('hex')}`;
  const probe = new ContainerRunner({ image, stagingDir: dir, runId });
  const { configPath, feedDir, dataDir } = await daemonWorkspace(dir, { webhook: { url: hookUrl, retries: 2 } });
  let child = await spawnDaemon(configPath, dataDir, runId);
  try {
    await dropFile(feedDir, 'slow.json', shellAttestation('slow.txt', 'sleep 4; echo slow', 'slow\n'));
    const orphan = await waitFor('the build container', async () => (await probe.containers())[0]);
    const running = await waitFor('a running job', async () => (await jobsOf(child.url)).find((j) => j.state === 'running'));
    child.proc.kill('SIGKILL');
    await child.exit;
    assert.deepEqual(await probe.containers(), [orphan], 'the killed daemon left its container behind');

    child = await spawnDaemon(configPath, dataDir, runId);
    assert.ok(!(await probe.containers()).includes(orphan), 'start-up removed the orphan container');
    const done = await waitFor('the re-run verdict', async () => (await jobsOf(child.url)).find((j) => j.id === running.id && j.state === 'done'));
    assert.equal(done.outcome, 'reproduced');
    assert.equal(done.attempt, 2, 'the interrupted attempt was reclaimed and the job re-run');
    assert.equal((await jobsOf(child.url)).length, 1, 'the feed did not re-read the file after the restart');

    const out = await readdir(join(dataDir, 'out'));
    assert.deepEqual(out, [sha256('slow\n')]);
    assert.deepEqual((await readdir(join(dataDir, 'out', out[0]!))).sort(), ['rebuild.sigstore.json', 'verdict.json', 'vsa.sigstore.json']);
    const verdict = JSON.parse(await readFile(join(dataDir, 'out', out[0]!, 'verdict.json'), 'utf8')) as { attempt: number };
    assert.equal(verdict.attempt, 2);
    const audit = (await readFile(join(dataDir, 'audit.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; jobId?: string });
    assert.equal(audit.filter((e) => e.type === 'job-verdict' && e.jobId === done.id).length, 1, 'one audit entry');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(events.filter((e) => e.jobId === done.id).map((e) => e.event), ['verdict'], 'one webhook verdict');

    child.proc.kill('SIGTERM');
    assert.equal(await child.exit, 0);
  } finally {
    child.proc.kill('SIGKILL');
    await probe.recover();
    await rm(dir, { recursive: true, force: true });
  }
});

test('SIGTERM: a build that finishes within the grace period is published, then the daemon exits 0', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-term-'));
  const runId = `term-${randomBytes(4).toString('hex')}`;
  const probe = new ContainerRunner({ image, stagingDir: dir, runId });
  const { configPath, feedDir, dataDir } = await daemonWorkspace(dir, { shutdownGraceSeconds: 30 });
  const child = await spawnDaemon(configPath, dataDir, runId);
  try {
    await dropFile(feedDir, 'a.json', shellAttestation('a.txt', 'sleep 2; echo a', 'a\n'));
    const running = await waitFor('a running job', async () => (await jobsOf(child.url)).find((j) => j.state === 'running'));
    child.proc.kill('SIGTERM');
    // Intake is closed during the drain: this file waits for the next start.
    await dropFile(feedDir, 'b.json', shellAttestation('b.txt', 'echo b', 'b\n'));
    assert.equal(await child.exit, 0);
    const store = await SqliteStore.open(join(dataDir, 'reprod.db'));
    const job = await store.job(running.id);
    assert.equal(job?.state, 'done');
    assert.equal(job.outcome, 'reproduced');
    assert.equal((await store.jobs()).length, 1, 'no intake after SIGTERM');
    await store.close();
  } finally {
    child.proc.kill('SIGKILL');
    await probe.recover();
    await rm(dir, { recursive: true, force: true });
  }
});

test('SIGTERM: a build still running after the grace period is stopped and handed back to the queue, exit 0', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-term-'));
  const runId = `term-${randomBytes(4).toString('hex')}`;
  const probe = new ContainerRunner({ image, stagingDir: dir, runId });
  const { configPath, feedDir, dataDir } = await daemonWorkspace(dir, { shutdownGraceSeconds: 1 });
  const child = await spawnDaemon(configPath, dataDir, runId);
  try {
    await dropFile(feedDir, 'long.json', shellAttestation('long.txt', 'sleep 60; echo long', 'long\n'));
    await waitFor('the build container', async () => (await probe.containers())[0]);
    const running = await waitFor('a running job', async () => (await jobsOf(child.url)).find((j) => j.state === 'running'));
    child.proc.kill('SIGTERM');
    assert.equal(await child.exit, 0);
    assert.deepEqual(await probe.containers(), [], 'the build container was stopped');
    const store = await SqliteStore.open(join(dataDir, 'reprod.db'));
    const job = await store.job(running.id);
    assert.equal(job?.state, 'queued', 'handed back');
    assert.equal(job.attempt, 0, 'without spending an attempt');
    await store.close();
  } finally {
    child.proc.kill('SIGKILL');
    await probe.recover();
    await rm(dir, { recursive: true, force: true });
  }
});
