/**
 * Several worker processes on one PostgreSQL: every job ends as exactly one
 * published verdict, through kill -9 of a worker mid-build and through a
 * PostgreSQL outage (pg_ctl stop -m fast, then start).
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PostgresStore } from '../../src/store/postgres.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { outDir, published, spawnWorker, submitJobs, type SpawnedWorker } from './cluster.ts';

let server: TestPostgres;
const cleanup: (() => Promise<unknown>)[] = [];
before(async () => {
  server = await startPostgres();
});
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
  await server?.destroy();
});

function track(w: SpawnedWorker): SpawnedWorker {
  cleanup.push(async () => {
    if (w.child.exitCode === null) w.child.kill('SIGKILL');
  });
  return w;
}

async function setup(jobs: number): Promise<{ url: string; store: PostgresStore; ids: string[]; out: string }> {
  const url = await server.createDatabase();
  const store = await PostgresStore.open({ url });
  cleanup.push(() => store.close());
  const ids = await submitJobs(store, jobs);
  const out = await outDir();
  cleanup.push(() => rm(out, { recursive: true, force: true }));
  return { url, store, ids, out };
}

async function assertExactlyOnce(store: PostgresStore, ids: string[], out: string): Promise<void> {
  const { verdicts, duplicates } = await published(out);
  assert.deepEqual(duplicates, [], 'no job published twice');
  assert.deepEqual([...verdicts.keys()].sort(), [...ids].sort(), 'one verdict per job');
  const counts = await store.countByState();
  assert.deepEqual(counts, { queued: 0, running: 0, done: ids.length, error: 0 });
  for (const id of ids) {
    const job = (await store.job(id))!;
    assert.equal(job.published, true);
    assert.equal(job.publishedBy, verdicts.get(id)!.worker, `job ${id}: the store and the sink agree on who published`);
    assert.equal(job.attempt, verdicts.get(id)!.attempt);
  }
}

for (const n of [2, 3]) {
  test(`${n} worker processes: 60 attestations end as 60 verdicts, no duplicates`, async () => {
    const { url, store, ids, out } = await setup(60);
    const workers = Array.from({ length: n }, (_, i) =>
      track(spawnWorker(`w${i}`, { url, outDir: out, mode: 'sleep', buildMs: 30, leaseMs: 10_000, heartbeatMs: 2000, exitWhenDrained: true })),
    );
    const codes = await Promise.all(workers.map((w) => w.exited));
    assert.deepEqual(codes, workers.map(() => 0), workers.map((w) => w.stderr()).join('\n'));
    await assertExactlyOnce(store, ids, out);
    const perWorker = workers.map((w) => w.events.filter((e) => e.event === 'done').length);
    assert.ok(perWorker.every((k) => k > 0), `every worker built something: ${perWorker.join(', ')}`);
  });
}

test('kill -9 of a worker mid-build: its job finishes on another worker, once', async () => {
  const { url, store, ids, out } = await setup(4);
  const common = { url, outDir: out, mode: 'sleep' as const, leaseMs: 1200, heartbeatMs: 300, exitWhenDrained: true };
  // The victim's builds take ten minutes: however late its 'claimed' event arrives
  // on a loaded machine, the kill lands mid-build.
  const victim = track(spawnWorker('victim', { ...common, buildMs: 600_000 }));
  const claimed = await victim.waitFor((e) => e.event === 'claimed');
  victim.child.kill('SIGKILL');
  await victim.exited;
  const survivor = track(spawnWorker('survivor', { ...common, buildMs: 200 }));
  assert.equal(await survivor.exited, 0, survivor.stderr());
  await assertExactlyOnce(store, ids, out);
  const job = (await store.job(claimed.jobId!))!;
  assert.equal(job.publishedBy, 'survivor');
  assert.equal(job.attempt, 2, 'the killed attempt counted, the second one published');
  assert.ok(!victim.events.some((e) => e.event === 'done' && e.jobId === claimed.jobId));
});

test('PostgreSQL stopped for a few seconds: workers retry and recover without losing a job', async () => {
  const { url, store, ids, out } = await setup(45);
  await store.close();
  const workers = [0, 1, 2].map((i) =>
    track(spawnWorker(`w${i}`, { url, outDir: out, mode: 'sleep', buildMs: 150, leaseMs: 20_000, heartbeatMs: 500, exitWhenDrained: true })),
  );
  // Stop mid-stream: some jobs done, some leased, most queued.
  await Promise.all(workers.map((w) => w.waitFor((e) => e.event === 'done')));
  await server.stop();
  await sleep(3000);
  await server.start();
  const codes = await Promise.all(workers.map((w) => w.exited));
  assert.deepEqual(codes, [0, 0, 0], workers.map((w) => w.stderr()).join('\n'));
  assert.ok(workers.some((w) => w.events.some((e) => e.event === 'store-retry')), 'the outage was seen and retried');
  const check = await PostgresStore.open({ url });
  cleanup.push(() => check.close());
  await assertExactlyOnce(check, ids, out);
});
