/**
 * Worker presence: each daemon registers itself (id, host, pid, labels) in the
 * shared store and refreshes `last_seen_at` while it runs, so `reprod workers`
 * can list live workers with their leases. Presence is for people; correctness
 * never depends on it (job ownership is the lease on the job row).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../log/logger.ts';
import { silentLogger } from '../log/logger.ts';
import type { WorkerInfo, WorkerLabels, WorkerRegistration } from '../store/pg-types.ts';
import { debianArch } from '../build/arch.ts';

export { debianArch };

export const DEFAULT_PRESENCE_INTERVAL_MS = 5000;
/** A worker not seen for this long is listed as gone. */
export const DEFAULT_WORKER_STALE_MS = 30_000;

/** The part of a store that keeps the registry (PostgresStore has it). */
export interface WorkerRegistry {
  registerWorker(w: WorkerRegistration): Promise<void>;
  touchWorker(id: string, leader: boolean): Promise<void>;
  stopWorker(id: string): Promise<void>;
  listWorkers(options: { staleMs: number; all?: boolean }): Promise<WorkerInfo[]>;
}

export function hasWorkerRegistry(store: unknown): store is WorkerRegistry {
  const s = store as Partial<WorkerRegistry> | undefined;
  return typeof s?.registerWorker === 'function' && typeof s.listWorkers === 'function';
}

/** Unique per process, readable in listings: host-pid-random. */
export function newWorkerId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** A worker's labels: its machine's architecture unless configured, every rebuilder unless listed. */
export function workerLabels(configured: WorkerLabels = {}): WorkerLabels {
  const labels: WorkerLabels = { arch: configured.arch?.length ? configured.arch : [debianArch()] };
  if (configured.rebuilders?.length) labels.rebuilders = configured.rebuilders;
  return labels;
}

export interface PresenceOptions {
  id: string;
  labels: WorkerLabels;
  intervalMs?: number;
  /** Whether this worker currently leads feed intake (shown in listings). */
  isLeader?: () => boolean;
  logger?: Logger;
}

export class WorkerPresence {
  readonly #registry: WorkerRegistry;
  readonly #opts: PresenceOptions;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;

  constructor(registry: WorkerRegistry, options: PresenceOptions) {
    this.#registry = registry;
    this.#opts = options;
    this.#log = options.logger ?? silentLogger;
  }

  async start(): Promise<void> {
    await this.#registry.registerWorker({ id: this.#opts.id, hostname: hostname(), pid: process.pid, labels: this.#opts.labels });
    this.#timer = setInterval(() => {
      // An outage only makes the listing stale; the next tick catches up.
      this.#registry.touchWorker(this.#opts.id, this.#opts.isLeader?.() ?? false).catch((e: unknown) => {
        this.#log.warn({ err: e }, 'worker presence update failed');
      });
    }, this.#opts.intervalMs ?? DEFAULT_PRESENCE_INTERVAL_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#registry.stopWorker(this.#opts.id).catch(() => {});
  }
}
