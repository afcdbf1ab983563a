/**
 * The daemon with its default runner, the real rebuild pipeline (intake → plan →
 * container build → compare → sign), over the signed fixture attestations:
 * dropped files end as signed verdicts in the output tree; kill -9 mid-build and
 * a restart still give one verdict and one attestation set.
 * Skipped while the pipeline's executor/intake modules are not in the tree.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import Docker from 'dockerode';
import type { Job } from '../../src/store/types.ts';
import { waitFor } from '../support/daemon.ts';

const need = ['../../src/build/docker.ts', '../../src/build/executor.ts', '../../src/attest/index.ts'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
const missing = need.filter((p) => !existsSync(p));
const skip = missing.length > 0 && `the pipeline is not complete yet (missing ${missing.map((p) => p.replace(/^.*\/src\//, 'src/')).join(', ')})`;

const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
const CHILD = fileURLToPath(new URL('./daemon-child.ts', import.meta.url));

interface World {
  dir: string;
  configFile: string;
  caseNamed(name: string): { attestation: string; expect: { outcome: string } };
  cleanup(): Promise<void>;
}
let world: World | undefined;

before(async () => {
  if (skip) return;
  const { rebuildWorld } = (await import('../support/rebuild-world.ts' as string)) as { rebuildWorld: (only: string[]) => Promise<World> };
  world = await rebuildWorld(['hello-c', 'date-macro']);
});
after(async () => {
  await world?.cleanup();
});

async function daemonConfig(w: World, name: string, grace = 30): Promise<{ configPath: string; feedDir: string; outDir: string; dataDir: string }> {
  const raw = JSON.parse(await readFile(w.configFile, 'utf8')) as Record<string, unknown>;
  const feedDir = join(w.dir, `${name}-in`);
  const dataDir = join(w.dir, `${name}-data`);
  await (await import('node:fs/promises')).mkdir(feedDir, { recursive: true });
  const config = {
    ...raw,
    dataDir,
    daemon: { claimPollMs: 100, heartbeatSeconds: 1, leaseSeconds: 30, shutdownGraceSeconds: grace, feeds: [{ type: 'directory', name: 'drop', path: feedDir, intervalSeconds: 0.2 }], api: { port: 0 } },
  };
  const configPath = join(w.dir, `${name}.yaml`);
  await writeFile(configPath, JSON.stringify(config));
  return { configPath, feedDir, outDir: join(dataDir, 'out'), dataDir };
}

async function spawnDaemon(configPath: string) {
  const proc = spawn(NODE, [CHILD, configPath], { env: { ...process.env, REPROD_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exit = new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
  const line = await new Promise<string>((ok, fail) => {
    createInterface({ input: proc.stdout! }).once('line', ok);
    proc.once('exit', (c) => fail(new Error(`daemon exited ${c}`)));
  });
  return { proc, exit, url: (JSON.parse(line) as { url: string }).url };
}

const jobs = async (url: string): Promise<Job[]> => ((await (await fetch(`${url}/v1/jobs`)).json()) as { jobs: Job[] }).jobs;

test('pipeline: signed fixture attestations dropped in the feed folder end as signed verdicts', { skip, timeout: 900_000 }, async () => {
  const w = world!;
  const { configPath, feedDir, outDir } = await daemonConfig(w, 'drop');
  const d = await spawnDaemon(configPath);
  try {
    for (const name of ['hello-c', 'date-macro']) await copyFile(w.caseNamed(name).attestation, join(feedDir, `${name}.json`));
    const done = await waitFor('two verdicts', async () => {
      const all = await jobs(d.url);
      return all.length === 2 && all.every((j) => j.state === 'done' || j.state === 'error') ? all : undefined;
    }, 800_000);
    for (const j of done) {
      const expected = j.subject.name.includes('hello') ? w.caseNamed('hello-c').expect.outcome : w.caseNamed('date-macro').expect.outcome;
      assert.equal(j.outcome, expected, `${j.subject.name}: ${JSON.stringify(j.error ?? (j.result as { error?: unknown })?.error)}`);
      const files = await readdir(join(outDir, j.subject.sha256));
      for (const f of ['vsa.sigstore.json', 'rebuild.sigstore.json', 'verdict.json']) assert.ok(files.includes(f), `${f} for ${j.subject.name}`);
    }
    d.proc.kill('SIGTERM');
    assert.equal(await d.exit, 0);
  } finally {
    d.proc.kill('SIGKILL');
  }
});

test('pipeline: kill -9 mid-build, restart: one verdict, one attestation set', { skip, timeout: 900_000 }, async () => {
  const w = world!;
  const { configPath, feedDir, outDir, dataDir } = await daemonConfig(w, 'crash');
  let d = await spawnDaemon(configPath);
  try {
    await copyFile(w.caseNamed('hello-c').attestation, join(feedDir, 'hello-c.json'));
    const running = await waitFor('a running job', async () => (await jobs(d.url)).find((j) => j.state === 'running'), 120_000);
    // Kill while the job's container (labelled with its job id) exists.
    const docker = new Docker({ socketPath: '/var/run/docker.sock' });
    const ours = async (): Promise<string[]> =>
      (await docker.listContainers({ all: true, filters: { label: ['dev.reprod.job'] } })).filter((c) => (c.Labels['dev.reprod.job'] ?? '').startsWith(running.id)).map((c) => c.Id);
    const orphan = await waitFor('the job container', async () => (await ours())[0], 300_000);
    d.proc.kill('SIGKILL');
    await d.exit;
    assert.ok((await ours()).includes(orphan), 'the killed daemon left its container behind');
    d = await spawnDaemon(configPath);
    assert.ok(!(await ours()).includes(orphan), 'start-up removed the orphan container');
    const done = await waitFor('the re-run verdict', async () => (await jobs(d.url)).find((j) => j.id === running.id && j.state !== 'running' && j.state !== 'queued'), 800_000);
    assert.equal(done.outcome, 'reproduced');
    assert.ok(done.attempt >= 2);
    assert.deepEqual(await readdir(outDir), [done.subject.sha256]);
    const audit = (await readFile(join(dataDir, 'audit.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; jobId?: string });
    assert.equal(audit.filter((e) => e.type === 'job-verdict' && e.jobId === done.id).length, 1);
    d.proc.kill('SIGTERM');
    assert.equal(await d.exit, 0);
  } finally {
    d.proc.kill('SIGKILL');
  }
});
