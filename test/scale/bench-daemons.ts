/**
 * bench:scale's daemon rows: N real `reprod daemon` processes (no-op runner, see
 * noop-daemon.ts) drain a queue on one PostgreSQL through the daemon's own worker
 * pool, fenced complete and publisher. Checks one audit entry per job over all
 * daemons (published once) before it reports a rate.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { PostgresStore } from '../../src/store/postgres.ts';
import type { TestPostgres } from '../support/postgres.ts';
import { submitJobs } from './cluster.ts';

const CHILD = fileURLToPath(new URL('./noop-daemon.ts', import.meta.url));

/** Jobs per second of `n` daemons (each with `concurrency` slots) draining `jobs` no-op jobs. */
export async function drainDaemons(server: TestPostgres, jobs: number, n: number, concurrency = 4): Promise<number> {
  const url = await server.createDatabase();
  const store = await PostgresStore.open({ url, poolSize: 2 });
  const dir = await mkdtemp(join(tmpdir(), 'reprod-bench-daemons-'));
  try {
    await submitJobs(store, jobs, `daemon${n}`);
    const procs = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const home = join(dir, `d${i}`);
        await mkdir(home, { recursive: true });
        const config = join(home, 'reprod.yaml');
        const daemon = { workerId: `d${i}`, concurrency, claimPollMs: 50, leaseSeconds: 120, heartbeatSeconds: 20, feeds: [], api: { port: 0 } };
        await writeFile(config, JSON.stringify({ dataDir: join(home, 'data'), store: { postgres: { url, poolSize: concurrency + 2 } }, daemon }));
        const proc = spawn(process.execPath, [CHILD, config], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, REPROD_LOG_LEVEL: 'warn' } });
        const exit = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
        await new Promise<void>((ok, fail) => {
          createInterface({ input: proc.stdout! }).once('line', () => ok());
          void exit.then((c) => fail(new Error(`daemon d${i} exited ${c} before it was ready`)));
        });
        return { proc, exit, home };
      }),
    );
    const ready = performance.now();
    const doneBefore = (await store.countByState()).done;
    while ((await store.countByState()).done < jobs) await sleep(20);
    const secs = (performance.now() - ready) / 1000;
    for (const p of procs) p.proc.kill('SIGTERM');
    const codes = await Promise.all(procs.map((p) => p.exit));
    if (codes.some((c) => c !== 0)) throw new Error(`a daemon exited ${codes.join(', ')}`);
    const audited: string[] = [];
    for (const p of procs) {
      const text = await readFile(join(p.home, 'data', 'audit.jsonl'), 'utf8').catch(() => '');
      for (const line of text.split('\n')) if (line.includes('"job-verdict"')) audited.push((JSON.parse(line) as { jobId: string }).jobId);
    }
    if (audited.length !== jobs || new Set(audited).size !== jobs) throw new Error(`expected ${jobs} audit verdicts, got ${audited.length} (${new Set(audited).size} distinct)`);
    return (jobs - doneBefore) / secs;
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
