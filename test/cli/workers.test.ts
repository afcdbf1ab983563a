import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PostgresStore } from '../../src/store/postgres.ts';
import { submitJobs } from '../scale/cluster.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const run = promisify(execFile);

async function reprod(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], { env: { ...process.env, REPROD_POSTGRES_URL: '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

let server: TestPostgres;
let url: string;
let store: PostgresStore;
let jobId: string;
let dir: string;
before(async () => {
  server = await startPostgres();
  url = await server.createDatabase();
  store = await PostgresStore.open({ url });
  [jobId] = await submitJobs(store, 1);
  await store.registerWorker({ id: 'build-a', hostname: 'node-a', pid: 101, labels: { arch: ['amd64'], rebuilders: ['npm'] } });
  await store.registerWorker({ id: 'build-b', hostname: 'node-b', pid: 202, labels: { arch: ['arm64'] } });
  await store.registerWorker({ id: 'old', hostname: 'node-c', pid: 303, labels: {} });
  await store.stopWorker('old');
  await store.touchWorker('build-b', true);
  await store.claim('build-a', { leaseMs: 600_000, labels: { arch: ['amd64'], rebuilders: ['npm'] } });
  dir = await mkdtemp(join(tmpdir(), 'reprod-workers-cli-'));
});
after(async () => {
  await store?.close();
  await server?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('lists live workers, the feed leader and each lease', async () => {
  const r = await reprod(['workers', '--url', url]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /build-a\s+node-a\s+101\s+arch=amd64 rebuilders=npm/);
  assert.match(r.stdout, /build-b\s+node-b\s+202\s+arch=arm64 rebuilders=all\s+\S+ ago\s+feeds-leader/);
  assert.match(r.stdout, new RegExp(`job ${jobId} attempt 1 job-0\\.tgz: running \\d+s, lease \\d+s`));
  assert.doesNotMatch(r.stdout, /\bold\b/, 'stopped workers are hidden by default');
  assert.match(r.stdout, /2 live worker\(s\), 1 leased job\(s\)/);
});

test('--all --json includes stopped workers; the URL may come from the config file or the environment', async () => {
  const cfg = join(dir, 'config.yaml');
  await writeFile(cfg, `store:\n  postgres:\n    url: ${url}\n`);
  const r = await reprod(['workers', '--config', cfg, '--all', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { workers: { id: string; live: boolean; leases: { jobId: string }[] }[] };
  assert.deepEqual(out.workers.map((w) => [w.id, w.live]).sort(), [['build-a', true], ['build-b', true], ['old', false]]);
  assert.deepEqual(out.workers.find((w) => w.id === 'build-a')!.leases.map((l) => l.jobId), [jobId]);
  const env = await reprod(['workers', '--json'], { REPROD_POSTGRES_URL: url });
  assert.equal(env.code, 0, env.stderr);
  assert.equal((JSON.parse(env.stdout) as { workers: unknown[] }).workers.length, 2);
});

test('coded errors: no store configured, bad config key, unreachable database', async () => {
  const none = await reprod(['workers']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^error\[USAGE\]/);
  const cfg = join(dir, 'bad.yaml');
  await writeFile(cfg, 'store:\n  postgres:\n    url: mysql://x\n');
  const bad = await reprod(['workers', '--config', cfg]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error\[CONFIG_INVALID\]: .*store\.postgres\.url/);
  const down = await reprod(['workers', '--url', 'postgres://postgres@127.0.0.1:1/none']);
  assert.equal(down.code, 2);
  assert.match(down.stderr, /^error\[STORE_ERROR\]/);
});
