/**
 * npm run bench:daemon — the daemon's queue and its per-job cost, measured side by side:
 *  1. enqueue throughput into the SQLite store: 100,000 jobs, one transaction each
 *     and in batches of 1,000 (how feeds submit);
 *  2. claim throughput (claim + complete) with 100,000 jobs queued;
 *  3. per-job overhead of the daemon (feed/API → queue → lease → publish) over running
 *     the same real-container build directly, N jobs each way, concurrency 1.
 * Env: BENCH_JOBS (default 100000), BENCH_CLAIMS (default 5000), BENCH_BUILDS (default 8).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { silentLogger } from '../../src/log/logger.ts';
import { SqliteStore } from '../../src/store/sqlite.ts';
import type { Job, SubmitInput } from '../../src/store/types.ts';
import { minbaseImage } from '../support/daemon-image.ts';
import { ContainerRunner, daemonWorkspace, shellAttestation, TEST_TOKEN, waitFor } from '../support/daemon.ts';

const JOBS = Number(process.env.BENCH_JOBS ?? 100_000);
const CLAIMS = Number(process.env.BENCH_CLAIMS ?? 5_000);
const BUILDS = Number(process.env.BENCH_BUILDS ?? 8);

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
function input(i: number): SubmitInput {
  const att = `attestation ${i}`;
  return { attestationSha256: sha(att), attestation: new TextEncoder().encode(att), subject: { name: `pkg-${i}.tgz`, sha256: sha(`subject ${i}`) } };
}
const rate = (n: number, ms: number): string => `${Math.round((n / ms) * 1000).toLocaleString('en')} /s`;

async function queueBench(dir: string): Promise<void> {
  const single = await SqliteStore.open(join(dir, 'single.db'));
  const singleN = Math.min(JOBS, 20_000);
  let t = performance.now();
  for (let i = 0; i < singleN; i++) await single.submit(input(i));
  const singleMs = performance.now() - t;
  await single.close();

  const store = await SqliteStore.open(join(dir, 'batch.db'));
  t = performance.now();
  for (let i = 0; i < JOBS; i += 1000) await store.submitMany(Array.from({ length: Math.min(1000, JOBS - i) }, (_, k) => input(i + k)));
  const batchMs = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < 1000; i++) await store.submit(input(i)); // repeats: idempotent no-ops
  const dupMs = performance.now() - t;

  t = performance.now();
  for (let i = 0; i < CLAIMS; i++) {
    const c = (await store.claim('bench', { leaseMs: 60_000 }))!;
    await store.complete(c.lease, { outcome: 'reproduced' });
  }
  const claimMs = performance.now() - t;
  const left = (await store.countByState()).queued;
  await store.close();
  console.log(`enqueue, one transaction per job (${singleN.toLocaleString('en')} jobs):  ${rate(singleN, singleMs)}`);
  console.log(`enqueue, batches of 1,000 (${JOBS.toLocaleString('en')} jobs):            ${rate(JOBS, batchMs)}  (${(batchMs / 1000).toFixed(1)} s; ${(singleMs / singleN / (batchMs / JOBS)).toFixed(1)}x the per-job rate of single submits)`);
  console.log(`duplicate submit (no-op, 1,000):                        ${rate(1000, dupMs)}`);
  console.log(`claim + complete with ${JOBS.toLocaleString('en')} queued (${CLAIMS.toLocaleString('en')}):      ${rate(CLAIMS, claimMs)}  (${(claimMs / CLAIMS).toFixed(2)} ms per job; ${left.toLocaleString('en')} still queued)`);
}

async function overheadBench(dir: string): Promise<void> {
  const image = await minbaseImage();
  const atts = Array.from({ length: BUILDS }, (_, i) => shellAttestation(`b${i}.txt`, `echo build ${i}`, `build ${i}\n`));
  // Direct: the same runner, called in a loop (what `reprod rebuild` does per attestation, minus the queue).
  const direct = new ContainerRunner({ image, stagingDir: join(dir, 'direct') });
  let t = performance.now();
  for (const [i, a] of atts.entries()) {
    const env = JSON.parse(new TextDecoder().decode(a)) as { payload: string };
    const st = JSON.parse(Buffer.from(env.payload, 'base64').toString()) as { subject: { name: string; digest: { sha256: string } }[] };
    const job = { id: `direct-${i}`, subject: { name: st.subject[0]!.name, sha256: st.subject[0]!.digest.sha256 } } as Job;
    await direct.run(job, { signal: new AbortController().signal, heartbeat: async () => {}, attestation: a, attempt: 1, log: () => {} });
  }
  const directMs = performance.now() - t;

  const ws = await daemonWorkspace(join(dir, 'daemon'), { feeds: [], claimPollMs: 50 });
  const runner = new ContainerRunner({ image, stagingDir: join(ws.dataDir, 'staging') });
  const daemon = await Daemon.start({ loaded: loadConfig(ws.configPath), logger: silentLogger, runner });
  try {
    t = performance.now();
    for (const a of atts) await fetch(`${daemon.url}/v1/attestations`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}` }, body: a });
    await waitFor('all builds', async () => (await daemon.store.countByState()).done === BUILDS, 600_000);
    const daemonMs = performance.now() - t;
    console.log(`real-container builds, ${BUILDS} each way, concurrency 1:`);
    console.log(`  direct runner: ${(directMs / BUILDS).toFixed(0)} ms/job;  through the daemon: ${(daemonMs / BUILDS).toFixed(0)} ms/job`);
    console.log(`  daemon overhead: ${((daemonMs - directMs) / BUILDS).toFixed(0)} ms/job (ratio ${(daemonMs / directMs).toFixed(2)})`);
  } finally {
    await daemon.stop();
  }
}

/**
 * With the real pipeline (when its executor and intake are in the tree): the same signed
 * fixture attestations rebuilt directly (what `reprod rebuild` runs) and through the
 * daemon, caches warm for both.
 */
async function pipelineBench(): Promise<void> {
  const need = ['../../src/build/executor.ts', '../../src/attest/index.ts'].map((p) => new URL(p, import.meta.url));
  if (!need.every((u) => existsSync(u))) {
    console.log('pipeline overhead: skipped (the executor/intake modules are not in the tree yet)');
    return;
  }
  const cases = ['hello-c', 'tar-good', 'date-macro'];
  const { rebuildWorld } = (await import('../support/rebuild-world.ts' as string)) as {
    rebuildWorld: (only: string[]) => Promise<{ dir: string; configFile: string; ctx: unknown; caseNamed(n: string): { attestation: string }; cleanup(): Promise<void> }>;
  };
  const { rebuildAttestation } = await import('../../src/pipeline/rebuild.ts');
  const world = await rebuildWorld(cases);
  try {
    const direct = async (): Promise<number> => {
      const t0 = performance.now();
      for (const c of cases) {
        const bytes = new Uint8Array(await readFile(world.caseNamed(c).attestation));
        await rebuildAttestation(bytes, world.ctx as never, { uri: world.caseNamed(c).attestation }).catch(() => undefined);
      }
      return performance.now() - t0;
    };
    await direct(); // warm the source and input caches
    const raw = JSON.parse(await readFile(world.configFile, 'utf8')) as Record<string, unknown>;
    const feedDir = join(world.dir, 'bench-in');
    await mkdir(feedDir, { recursive: true });
    const configPath = join(world.dir, 'bench-daemon.yaml');
    await writeFile(configPath, JSON.stringify({ ...raw, daemon: { claimPollMs: 50, heartbeatSeconds: 5, feeds: [{ type: 'directory', name: 'bench', path: feedDir, intervalSeconds: 0.1 }], api: { port: 0 }, outDir: join(world.dir, 'bench-out') } }));
    const daemon = await Daemon.start({ loaded: loadConfig(configPath), logger: silentLogger });
    let daemonMs: number;
    try {
      const t0 = performance.now();
      for (const c of cases) await copyFile(world.caseNamed(c).attestation, join(feedDir, `${c}.json`));
      await waitFor('pipeline verdicts', async () => {
        const n = await daemon.store.countByState();
        return n.queued === 0 && n.running === 0 && n.done + n.error >= cases.length;
      }, 1_800_000);
      daemonMs = performance.now() - t0;
    } finally {
      await daemon.stop();
    }
    const directMs = await direct();
    console.log(`real pipeline, ${cases.length} signed fixture attestations, caches warm:`);
    console.log(`  reprod rebuild (direct): ${(directMs / cases.length).toFixed(0)} ms/job;  daemon: ${(daemonMs / cases.length).toFixed(0)} ms/job`);
    console.log(`  daemon overhead: ${((daemonMs - directMs) / cases.length).toFixed(0)} ms/job (ratio ${(daemonMs / directMs).toFixed(2)})`);
  } finally {
    await world.cleanup();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'reprod-bench-daemon-'));
try {
  await queueBench(dir);
  await overheadBench(dir);
  await pipelineBench();
} finally {
  await rm(dir, { recursive: true, force: true });
}
