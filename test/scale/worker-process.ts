/**
 * One worker process for the scale-out tests and bench: the real claim → lease
 * → heartbeat → fenced complete/publish path of PostgresStore, with a pluggable
 * build (no-op, sleep, or a real container). Run as a child process so tests can
 * kill -9 it mid-build.
 *
 *   node test/scale/worker-process.ts '<json WorkerProcessOptions>'
 *
 * Prints one JSON line per event on stdout ({event:'claimed'|'done'|'fenced'|...}).
 * Publishing writes <outDir>/<jobId>.json exclusively; a second publication of a
 * job by a different attempt leaves a DUPLICATE-* file, which tests look for.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { newWorkerId, WorkerPresence } from '../../src/daemon/workers-registry.ts';
import { isReprodError } from '../../src/errors.ts';
import type { Lease, WorkerLabels } from '../../src/store/pg-types.ts';
import { PostgresStore } from '../../src/store/postgres.ts';
import { runContainerJob } from './container-job.ts';

export interface WorkerProcessOptions {
  url: string;
  outDir: string;
  /** `noop`, `sleep` (buildMs) or `container` (image). */
  mode: 'noop' | 'sleep' | 'container';
  buildMs?: number;
  image?: string;
  leaseMs: number;
  heartbeatMs: number;
  /** Exit once nothing is queued or running. */
  exitWhenDrained?: boolean;
  labels?: WorkerLabels;
  pollMs?: number;
  id?: string;
}

const opts = JSON.parse(process.argv[2] ?? '{}') as WorkerProcessOptions;
const workerId = opts.id ?? newWorkerId();
const emit = (event: string, extra: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, worker: workerId, ...extra })}\n`);
};

/** Retries an operation across PostgreSQL outages (retryable STORE_ERRORs). */
async function retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await fn();
    } catch (e) {
      if (!(isReprodError(e, 'STORE_ERROR') && e.retryable)) throw e;
      emit('store-retry', { what });
      await sleep(delay);
    }
  }
}

async function publish(jobId: string, attempt: number, outcome: string): Promise<void> {
  const path = join(opts.outDir, `${jobId}.json`);
  const body = JSON.stringify({ jobId, attempt, worker: workerId, outcome });
  try {
    await writeFile(path, body, { flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    // The same attempt retrying after a failed commit rewrites the same content: idempotent.
    const prev = JSON.parse(await readFile(path, 'utf8')) as { attempt: number; worker: string };
    if (prev.attempt !== attempt || prev.worker !== workerId) {
      await writeFile(join(opts.outDir, `DUPLICATE-${jobId}-${attempt}.json`), body);
    }
  }
}

async function build(jobId: string, signal: AbortSignal): Promise<string> {
  switch (opts.mode) {
    case 'noop':
      return 'reproduced';
    case 'sleep':
      await sleep(opts.buildMs ?? 100, undefined, { signal });
      return 'reproduced';
    case 'container':
      return runContainerJob(opts.image!, jobId, signal);
  }
}

async function runOne(store: PostgresStore, lease0: Lease): Promise<void> {
  let lease = lease0;
  const abort = new AbortController();
  const beat = setInterval(() => {
    store.heartbeat(lease, opts.leaseMs).then(
      (l) => {
        lease = l;
      },
      (e: unknown) => {
        // An outage is not a lost lease: keep building, the next beat may succeed.
        if (isReprodError(e, 'LEASE_LOST')) abort.abort(e);
      },
    );
  }, opts.heartbeatMs);
  let outcome: string;
  try {
    outcome = await build(lease.jobId, abort.signal);
  } catch (e) {
    clearInterval(beat);
    if (abort.signal.aborted) return emit('fenced', { jobId: lease.jobId, attempt: lease.attempt });
    await retrying('fail', () => store.fail(lease, { error: { code: 'BUILD_FAILED', message: String(e), retryable: true } })).catch(() => {});
    return emit('failed', { jobId: lease.jobId, error: String(e) });
  }
  clearInterval(beat);
  try {
    await retrying('complete', () => store.complete(lease, { outcome, publish: () => publish(lease.jobId, lease.attempt, outcome) }));
    emit('done', { jobId: lease.jobId, attempt: lease.attempt });
  } catch (e) {
    if (!isReprodError(e, 'LEASE_LOST')) throw e;
    emit('fenced', { jobId: lease.jobId, attempt: lease.attempt });
  }
}

async function main(): Promise<void> {
  const store = await retrying('open', () => PostgresStore.open({ url: opts.url, poolSize: 3 }));
  const presence = new WorkerPresence(store, { id: workerId, labels: opts.labels ?? {}, intervalMs: 1000 });
  await retrying('register', () => presence.start());
  let stopping = false;
  process.once('SIGTERM', () => {
    stopping = true;
  });
  emit('ready');
  while (!stopping) {
    const claimed = await retrying('claim', () =>
      store.claim(workerId, opts.labels ? { leaseMs: opts.leaseMs, labels: opts.labels } : { leaseMs: opts.leaseMs }),
    );
    if (claimed) {
      emit('claimed', { jobId: claimed.job.id, attempt: claimed.lease.attempt });
      await runOne(store, claimed.lease);
      continue;
    }
    if (opts.exitWhenDrained) {
      const n = await retrying('count', () => store.countByState());
      if (n.queued === 0 && n.running === 0) break;
    }
    await sleep(opts.pollMs ?? 50);
  }
  await presence.stop();
  await store.close();
  emit('exit');
}

main().catch((e: unknown) => {
  emit('crash', { error: String(e) });
  process.exitCode = 3;
});
