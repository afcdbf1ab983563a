/**
 * npm run bench:scale — scale-out on one PostgreSQL, measured side by side:
 *  1. 1, 2 and 4 worker processes draining 2,000 no-op jobs through the real
 *     claim → lease → fenced complete/publish path (no Docker): jobs/s and ratio;
 *     then the same through real `reprod daemon` processes (no-op runner: the
 *     daemon's worker pool, fenced complete and publisher, no build);
 *  2. the worker processes with 20 real container builds (needs a builder image: the
 *     foundation's test/support/docker.ts, or REPROD_SCALE_IMAGE=<image id>);
 *  3. claim latency with 100,000 jobs queued, beside 1,000 queued and a bare
 *     `SELECT 1` round trip (what a claim costs at least).
 * Prints a table; figures vary by machine, the ratios are what to compare.
 */
import { existsSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PostgresStore } from '../../src/store/postgres.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { drainDaemons } from '../scale/bench-daemons.ts';
import { outDir, published, spawnWorker, submitJobs } from '../scale/cluster.ts';

const TRIVIAL_JOBS = Number(process.env.BENCH_TRIVIAL_JOBS ?? 2000);
const CONTAINER_JOBS = Number(process.env.BENCH_CONTAINER_JOBS ?? 20);
const QUEUED = Number(process.env.BENCH_QUEUED ?? 100_000);
/** The small queue the 100,000 figure is compared with. */
const SMALL_QUEUE = 1000;
const WORKERS = [1, 2, 4];

async function drain(server: TestPostgres, jobs: number, workers: number, mode: 'noop' | 'container', image?: string): Promise<number> {
  const url = await server.createDatabase();
  const store = await PostgresStore.open({ url });
  await submitJobs(store, jobs, `${mode}${workers}`);
  const out = await outDir();
  const procs = Array.from({ length: workers }, (_, i) =>
    spawnWorker(`b${i}`, { url, outDir: out, mode, ...(image ? { image } : {}), leaseMs: 120_000, heartbeatMs: 20_000, exitWhenDrained: true, pollMs: 5 }),
  );
  // Start timing when every worker is ready, so process start-up is not counted.
  await Promise.all(procs.map((p) => p.waitFor((e) => e.event === 'ready')));
  const ready = performance.now();
  // Workers that were ready first have built some jobs already: count only the rest.
  const doneBefore = (await store.countByState()).done;
  const codes = await Promise.all(procs.map((p) => p.exited));
  const secs = (performance.now() - ready) / 1000;
  if (codes.some((c) => c !== 0)) throw new Error(`a worker failed: ${procs.map((p) => p.stderr()).join('\n')}`);
  const { verdicts, duplicates } = await published(out);
  if (verdicts.size !== jobs || duplicates.length) throw new Error(`expected ${jobs} verdicts, got ${verdicts.size} (+${duplicates.length} duplicates)`);
  await store.close();
  await rm(out, { recursive: true, force: true });
  return (jobs - doneBefore) / secs;
}

async function builderImage(): Promise<string | undefined> {
  if (process.env.REPROD_SCALE_IMAGE) return process.env.REPROD_SCALE_IMAGE;
  const helper = fileURLToPath(new URL('../support/docker.ts', import.meta.url));
  if (!existsSync(helper)) return undefined;
  const mod = (await import(helper)) as { builderImageId?: () => Promise<string> };
  return mod.builderImageId?.();
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Latency {
  p50: number;
  p95: number;
  p99: number;
}

function latency(times: number[]): Latency {
  const sorted = [...times].sort((a, b) => a - b);
  return { p50: pct(sorted, 50), p95: pct(sorted, 95), p99: pct(sorted, 99) };
}

const fmt = (l: Latency): string => `p50 ${l.p50.toFixed(2)} ms, p95 ${l.p95.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms`;

/** Claim latency (claim + complete, 500 times) with `queued` jobs waiting; also a `SELECT 1` round trip for scale. */
async function claimLatency(server: TestPostgres, queued: number): Promise<{ claim: Latency; roundTrip: Latency; fillSecs: number }> {
  const url = await server.createDatabase();
  const store = await PostgresStore.open({ url });
  const t0 = performance.now();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  // Bulk fill with SQL: 100,000 submits one by one would measure intake, not claiming.
  await c.query(`INSERT INTO attestations (sha256, bytes) SELECT md5(g::text) || md5(g::text), 'x' FROM generate_series(1, $1) g`, [queued]);
  await c.query(
    `INSERT INTO jobs (id, attestation_sha256, subject_name, subject_sha256, state, max_attempts)
     SELECT 'j' || g, md5(g::text) || md5(g::text), 's' || g, md5('s' || g) || md5('s' || g), 'queued', 3 FROM generate_series(1, $1) g`,
    [queued],
  );
  await c.query('ANALYZE jobs');
  const fillSecs = (performance.now() - t0) / 1000;
  const claims: number[] = [];
  const trips: number[] = [];
  for (let i = 0; i < 500; i++) {
    const s = performance.now();
    const claimed = await store.claim('bench', { leaseMs: 60_000 });
    claims.push(performance.now() - s);
    if (!claimed) throw new Error('queue unexpectedly empty');
    await store.complete(claimed.lease, { outcome: 'reproduced' });
    const r = performance.now();
    await c.query('SELECT 1');
    trips.push(performance.now() - r);
  }
  await c.end();
  await store.close();
  return { claim: latency(claims), roundTrip: latency(trips), fillSecs };
}

const machine = (): string => `${availableParallelism()} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`;

const server = await startPostgres();
try {
  console.log(`reprod bench:scale — PostgreSQL on 127.0.0.1:${server.port}, worker processes share it; ${machine()}`);
  const trivial: number[] = [];
  for (const n of WORKERS) {
    trivial.push(await drain(server, TRIVIAL_JOBS, n, 'noop'));
    console.log(`  trivial  ${String(n).padStart(2)} worker(s): ${TRIVIAL_JOBS} jobs, ${trivial.at(-1)!.toFixed(0)} jobs/s (x${(trivial.at(-1)! / trivial[0]!).toFixed(2)} vs 1 worker)`);
  }
  const daemons: number[] = [];
  for (const n of WORKERS) {
    daemons.push(await drainDaemons(server, TRIVIAL_JOBS, n));
    console.log(`  daemons  ${String(n).padStart(2)} daemon(s):  ${TRIVIAL_JOBS} jobs, ${daemons.at(-1)!.toFixed(0)} jobs/s (x${(daemons.at(-1)! / daemons[0]!).toFixed(2)} vs 1 daemon; real reprod daemon processes, no-op runner, 4 slots each)`);
  }
  const image = await builderImage().catch((e: unknown) => {
    console.log(`  container builds skipped: no builder image (${(e as Error).message})`);
    return undefined;
  });
  if (image) {
    const real: number[] = [];
    for (const n of WORKERS) {
      real.push(await drain(server, CONTAINER_JOBS, n, 'container', image));
      console.log(`  container ${String(n).padStart(2)} worker(s): ${CONTAINER_JOBS} builds, ${real.at(-1)!.toFixed(2)} jobs/s (x${(real.at(-1)! / real[0]!).toFixed(2)} vs 1 worker)`);
    }
  } else if (!process.env.REPROD_SCALE_IMAGE) {
    console.log('  container builds skipped: set REPROD_SCALE_IMAGE=<image id with sh> or build the builder image (reprod setup)');
  }
  const small = await claimLatency(server, SMALL_QUEUE);
  const big = await claimLatency(server, QUEUED);
  console.log(`  claim latency, ${SMALL_QUEUE.toLocaleString('en')} queued (500 claims): ${fmt(small.claim)}`);
  console.log(`  claim latency, ${QUEUED.toLocaleString('en')} queued (500 claims): ${fmt(big.claim)} (x${(big.claim.p50 / small.claim.p50).toFixed(2)} p50 vs ${SMALL_QUEUE.toLocaleString('en')} queued; fill ${big.fillSecs.toFixed(1)} s)`);
  console.log(`  SELECT 1 round trip, for scale: ${fmt(big.roundTrip)}`);
  console.log(`  machine at the end: ${machine()}`);
} finally {
  await server.destroy();
}
