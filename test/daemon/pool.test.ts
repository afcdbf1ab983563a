/** Worker pool semantics with a light real runner: the concurrency bound and lease loss. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Publisher } from '../../src/daemon/publisher.ts';
import type { JobRunner } from '../../src/daemon/runner.ts';
import { WorkerPool } from '../../src/daemon/worker-pool.ts';
import { silentLogger } from '../../src/log/logger.ts';
import { SqliteStore } from '../../src/store/sqlite.ts';
import { submission } from '../store/contract.ts';
import { waitFor } from '../support/daemon.ts';

async function setup(runner: JobRunner, opts: { concurrency: number; leaseMs: number; heartbeatMs: number; recheckNotReproducedMs?: number }) {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-pool-'));
  const store = await SqliteStore.open(':memory:');
  let published = 0;
  const publisher = new Publisher({ outDir: join(dir, 'out'), reportsDir: join(dir, 'reports'), logger: silentLogger });
  const publish = publisher.publish.bind(publisher);
  publisher.publish = async (...args) => {
    published++;
    return publish(...args);
  };
  const pool = new WorkerPool({ store, runner, publisher, logger: silentLogger, workerId: 'w', claimPollMs: 20, retryBaseMs: 10, retryMaxMs: 100, ...opts });
  return { dir, store, pool, published: () => published };
}

test('no more than `concurrency` jobs run at once', async () => {
  let inFlight = 0;
  let max = 0;
  const runner: JobRunner = {
    async run() {
      inFlight++;
      max = Math.max(max, inFlight);
      await new Promise((r) => setTimeout(r, 80));
      inFlight--;
      return { outcome: 'reproduced' };
    },
  };
  const { dir, store, pool, published } = await setup(runner, { concurrency: 2, leaseMs: 60_000, heartbeatMs: 10_000 });
  try {
    for (let i = 0; i < 6; i++) await store.submit(submission(i));
    pool.start();
    await waitFor('six verdicts', async () => (await store.countByState()).done === 6);
    assert.equal(max, 2);
    assert.equal(published(), 6);
    assert.throws(() => new WorkerPool({ store, runner, publisher: {} as Publisher, logger: silentLogger, workerId: 'w', concurrency: 0, leaseMs: 1, heartbeatMs: 1, claimPollMs: 1, retryBaseMs: 1, retryMaxMs: 1 }), /Expected `concurrency` to be an integer >= 1, got 0/);
  } finally {
    await pool.stop(1000);
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a lost lease aborts the build; the attempt is dropped and the job published once by the next attempt', async () => {
  const aborted: number[] = [];
  const runner: JobRunner = {
    async run(_job, rc) {
      if (rc.attempt === 1) {
        // Outlive the lease: no heartbeat comes in time (heartbeatMs > leaseMs).
        await new Promise<void>((resolve) => rc.signal.addEventListener('abort', () => resolve(), { once: true }));
        aborted.push(rc.attempt);
        return { outcome: 'not-reproduced' };
      }
      return { outcome: 'reproduced' };
    },
  };
  const { dir, store, pool, published } = await setup(runner, { concurrency: 1, leaseMs: 200, heartbeatMs: 400 });
  try {
    const { job } = await store.submit(submission(1));
    pool.start();
    const done = await waitFor('the verdict', async () => {
      const j = await store.job(job.id);
      return j?.state === 'done' ? j : undefined;
    });
    assert.deepEqual(aborted, [1]);
    assert.equal(done.outcome, 'reproduced', 'the fenced-out attempt never published its verdict');
    assert.equal(done.attempt, 2);
    assert.equal(published(), 1);
  } finally {
    await pool.stop(1000);
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a not-reproduced verdict is final; one re-check runs later as a new job', async () => {
  let runs = 0;
  const runner: JobRunner = { run: async () => ({ outcome: ++runs === 1 ? 'not-reproduced' : 'reproduced' }) };
  const { dir, store, pool, published } = await setup(runner, { concurrency: 1, leaseMs: 60_000, heartbeatMs: 10_000, recheckNotReproducedMs: 300 });
  try {
    const { job } = await store.submit(submission(1));
    pool.start();
    const first = await waitFor('the first verdict', async () => ((await store.job(job.id))?.state === 'done' ? store.job(job.id) : undefined));
    assert.equal(first!.outcome, 'not-reproduced');
    assert.equal(first!.attempt, 1, 'a mismatch is not retried');
    const history = await waitFor('the re-check verdict', async () => {
      const all = await store.jobs({ subjectSha256: job.subject.sha256 });
      return all.length === 2 && all.every((j) => j.state === 'done') ? all : undefined;
    });
    const re = history.find((j) => j.id !== job.id)!;
    assert.equal(re.source, `recheck:${job.id}`);
    assert.equal(re.outcome, 'reproduced');
    assert.equal((await store.job(job.id))?.outcome, 'not-reproduced', 'the first verdict stays');
    assert.ok(Date.parse(re.startedAt!) - Date.parse(first!.finishedAt!) >= 250, 'the re-check waited its delay');
    assert.equal(published(), 2);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal((await store.jobs()).length, 2, 'a re-check is not re-checked again');
  } finally {
    await pool.stop(1000);
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
