/**
 * Helpers for the scale-out tests and bench: spawn worker processes on one
 * PostgreSQL, watch their event lines, fill the queue, and check the published
 * verdicts (one per job, no duplicates).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { PostgresStore } from '../../src/store/postgres.ts';
import type { WorkerProcessOptions } from './worker-process.ts';

const WORKER = fileURLToPath(new URL('./worker-process.ts', import.meta.url));

export interface WorkerEvent {
  event: string;
  worker: string;
  jobId?: string;
  attempt?: number;
  error?: string;
}

export interface SpawnedWorker {
  id: string;
  child: ChildProcess;
  events: WorkerEvent[];
  exited: Promise<number | null>;
  /** Resolves with the first event matching. */
  waitFor(pred: (e: WorkerEvent) => boolean, timeoutMs?: number): Promise<WorkerEvent>;
  stderr(): string;
}

export function spawnWorker(id: string, options: Omit<WorkerProcessOptions, 'id'>): SpawnedWorker {
  const child = spawn(process.execPath, [WORKER, JSON.stringify({ ...options, id })], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, REPROD_LOG_LEVEL: 'warn' },
  });
  const events: WorkerEvent[] = [];
  const waiters: { pred: (e: WorkerEvent) => boolean; resolve: (e: WorkerEvent) => void }[] = [];
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-8000);
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let e: WorkerEvent;
    try {
      e = JSON.parse(line) as WorkerEvent;
    } catch {
      return;
    }
    events.push(e);
    for (const w of [...waiters]) {
      if (w.pred(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    id,
    child,
    events,
    exited,
    stderr: () => err,
    waitFor(pred, timeoutMs = 60_000) {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`worker ${id}: event not seen in ${timeoutMs} ms; stderr: ${err}`)), timeoutMs);
        waiters.push({
          pred,
          resolve: (e) => {
            clearTimeout(t);
            resolve(e);
          },
        });
      });
    },
  };
}

export const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Queues n jobs: one attestation per job, one subject each. */
export async function submitJobs(store: PostgresStore, n: number, prefix = 'job'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const body = `${prefix} attestation ${i}`;
    const { job } = await store.submit({
      attestationSha256: sha(body),
      attestation: new TextEncoder().encode(body),
      subject: { name: `${prefix}-${i}.tgz`, sha256: sha(`${prefix} subject ${i}`) },
    });
    ids.push(job.id);
  }
  return ids;
}

export async function outDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'reprod-scale-out-'));
}

export interface Published {
  verdicts: Map<string, { attempt: number; worker: string }>;
  duplicates: string[];
}

/** Reads what the workers published. */
export async function published(dir: string): Promise<Published> {
  const verdicts = new Map<string, { attempt: number; worker: string }>();
  const duplicates: string[] = [];
  for (const f of await readdir(dir)) {
    if (f.startsWith('DUPLICATE-')) duplicates.push(f);
    else if (f.endsWith('.json')) {
      const v = JSON.parse(await readFile(join(dir, f), 'utf8')) as { jobId: string; attempt: number; worker: string };
      verdicts.set(v.jobId, { attempt: v.attempt, worker: v.worker });
    }
  }
  return { verdicts, duplicates };
}
