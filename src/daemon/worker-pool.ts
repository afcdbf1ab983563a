/**
 * The worker loop (rebuilderd's shape): claim a job under a lease → run it with a
 * heartbeat → report. p-queue bounds concurrent builds. Every job gets an
 * AbortSignal, aborted when its lease is lost or at the end of a shutdown grace
 * period (then the job is handed back to the queue without spending an attempt).
 */
import PQueue from 'p-queue';
import { isReprodError, toReprodError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { jobLogger } from '../log/logger.ts';
import type { ClaimedJob, Job, Lease, Store, WorkerLabels } from '../store/types.ts';
import { retryDelayMs } from './backoff.ts';
import type { Metrics } from './metrics.ts';
import { Publisher } from './publisher.ts';
import type { JobRunner } from './runner.ts';

/** After a shutdown aborts its jobs, how long to wait for runners to notice before releasing anyway. */
export const ABORT_SETTLE_MS = 10_000;
/** Backoff for a job's store writes while the database is unreachable (retryable STORE_ERROR). */
export const STORE_RETRY_BASE_MS = 100;
export const STORE_RETRY_MAX_MS = 2000;

export interface WorkerPoolOptions {
  store: Store;
  runner: JobRunner;
  publisher: Publisher;
  logger: Logger;
  metrics?: Metrics;
  workerId: string;
  concurrency: number;
  leaseMs: number;
  heartbeatMs: number;
  claimPollMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  labels?: WorkerLabels;
  /** Schedule one re-check this long after a `not-reproduced` verdict (unset: none). */
  recheckNotReproducedMs?: number;
}

interface Running {
  job: Job;
  lease: Lease;
  abort: AbortController;
  handBack: boolean;
  startedAt: number;
  /** The last line the runner logged: what the build is doing now. */
  progress?: string;
}

export class WorkerPool {
  readonly #o: WorkerPoolOptions;
  readonly #queue: PQueue;
  readonly #running = new Map<string, Running>();
  #stopping = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: WorkerPoolOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new TypeError(`Expected \`concurrency\` to be an integer >= 1, got ${options.concurrency}`);
    }
    this.#o = options;
    this.#queue = new PQueue({ concurrency: options.concurrency });
  }

  /** Jobs this process is running now. */
  get running(): { job: Job; attempt: number; startedAt: string; progress?: string }[] {
    return [...this.#running.values()].map((r) => ({
      job: r.job,
      attempt: r.lease.attempt,
      startedAt: new Date(r.startedAt).toISOString(),
      ...(r.progress !== undefined ? { progress: r.progress } : {}),
    }));
  }

  start(): void {
    this.#loop ??= this.#claimLoop();
  }

  /** Claim now instead of at the next poll (after a submit). */
  wake(): void {
    this.#wake?.();
  }

  async #claimLoop(): Promise<void> {
    while (!this.#stopping) {
      let claimed: ClaimedJob | undefined;
      if (this.#running.size < this.#o.concurrency) {
        try {
          claimed = await this.#o.store.claim(this.#o.workerId, { leaseMs: this.#o.leaseMs, ...(this.#o.labels ? { labels: this.#o.labels } : {}) });
        } catch (e) {
          this.#o.logger.error({ err: e }, 'claim failed; retrying at the next poll');
        }
      }
      if (claimed && !this.#stopping) {
        this.#start(claimed);
        continue;
      }
      if (claimed) await this.#o.store.release(claimed.lease).catch(() => undefined);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.#o.claimPollMs);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  #start(claimed: ClaimedJob): void {
    const entry: Running = { job: claimed.job, lease: claimed.lease, abort: new AbortController(), handBack: false, startedAt: Date.now() };
    this.#running.set(claimed.job.id, entry);
    void this.#queue
      .add(() => this.#run(entry))
      .catch((e: unknown) => this.#o.logger.error({ err: e, jobId: entry.job.id }, 'job handling failed'))
      .finally(() => {
        this.#running.delete(entry.job.id);
        this.wake();
      });
  }

  async #run(entry: Running): Promise<void> {
    const { store, runner, publisher } = this.#o;
    const job = entry.job;
    const attempt = entry.lease.attempt;
    const log = jobLogger(this.#o.logger, job.id);
    const lines: string[] = [];
    const logLine = (line: string): void => {
      lines.push(`${new Date().toISOString()} ${line}`);
      entry.progress = line.length > 200 ? `${line.slice(0, 200)}…` : line;
    };
    const beat = async (): Promise<void> => {
      try {
        entry.lease = await store.heartbeat(entry.lease, this.#o.leaseMs);
      } catch (e) {
        if (isReprodError(e, 'LEASE_LOST')) entry.abort.abort(e);
        else log.warn({ err: e }, 'heartbeat failed; will try again');
      }
    };
    const timer = setInterval(() => void beat(), this.#o.heartbeatMs);
    log.info({ subject: job.subject.name, attempt }, 'job started');
    logLine(`attempt ${attempt} on ${this.#o.workerId}: ${job.subject.name} ${job.subject.sha256}`);
    try {
      const bytes = await this.#stored(entry, () => store.attestation(job.attestationSha256));
      if (!bytes) throw toReprodError(new Error(`attestation ${job.attestationSha256} is missing from the store`), 'STORE_ERROR');
      const result = await runner.run(job, { signal: entry.abort.signal, heartbeat: beat, attestation: bytes, attempt, log: logLine });
      if (entry.abort.signal.aborted) throw entry.abort.signal.reason;
      this.#o.metrics?.buildDuration((Date.now() - entry.startedAt) / 1000);
      if (result.outcome === 'error' && result.error?.retryable && attempt < job.maxAttempts) {
        await this.#retry(entry, result.error, lines);
        return;
      }
      logLine(`outcome ${result.outcome}${result.error ? ` (${result.error.code}: ${result.error.message})` : ''}`);
      const previous = await this.#stored(entry, () => this.#previousOutcome(job));
      const stored = { ...result.details, outcome: result.outcome, reports: result.reports ?? (await Publisher.stagedReports(result.stagedDir)), ...(result.error ? { error: result.error } : {}) };
      // A retried complete (the database failed before its commit) must not publish the attempt twice.
      let published = false;
      const publish = async (): Promise<void> => {
        if (published) return;
        await publisher.publish(job, attempt, result, previous, entry.abort.signal);
        published = true;
      };
      await this.#stored(entry, () => store.complete(entry.lease, { outcome: result.outcome, result: stored, log: lines.join('\n'), publish }));
      this.#o.metrics?.verdict(result.outcome);
      log.info({ outcome: result.outcome, attempt }, 'job done');
      await this.#maybeRecheck(job, result.outcome);
    } catch (e) {
      await this.#failed(entry, e, lines);
    } finally {
      clearInterval(timer);
    }
  }

  async #failed(entry: Running, e: unknown, lines: string[]): Promise<void> {
    const log = jobLogger(this.#o.logger, entry.job.id);
    if (entry.handBack) {
      await this.#o.store.release(entry.lease).catch((err: unknown) => log.warn({ err }, 'release failed; the lease will expire'));
      log.info('job handed back to the queue (shutdown)');
      return;
    }
    const err = toReprodError(e);
    if (err.code === 'LEASE_LOST') {
      log.warn({ attempt: entry.lease.attempt }, 'lease lost: another worker owns the job now; dropping this attempt');
      return;
    }
    lines.push(`${new Date().toISOString()} error ${err.code}: ${err.message}`);
    await this.#retry(entry, { code: err.code, message: err.message, retryable: err.retryable }, lines);
  }

  async #retry(entry: Running, error: { code: string; message: string; retryable?: boolean }, lines: string[]): Promise<void> {
    const attempt = entry.lease.attempt;
    const retryAfterMs = retryDelayMs(attempt, this.#o.retryBaseMs, this.#o.retryMaxMs);
    const willRetry = error.retryable === true && attempt < entry.job.maxAttempts;
    if (willRetry) {
      lines.push(`${new Date().toISOString()} retrying in ${retryAfterMs} ms`);
      this.#o.metrics?.retry(error.code);
    }
    const job = await this.#stored(entry, () => this.#o.store.fail(entry.lease, { error, retryAfterMs, log: lines.join('\n') }))
      .catch((e: unknown) => {
        jobLogger(this.#o.logger, entry.job.id).warn({ err: e }, 'could not record the failure');
        return undefined;
      });
    if (job?.state === 'error') this.#o.metrics?.verdict('error');
    jobLogger(this.#o.logger, entry.job.id).warn({ code: error.code, attempt, retry: willRetry }, willRetry ? 'attempt failed; retrying' : 'job failed');
  }

  /**
   * Runs a store call for a running job, retrying while the database is unreachable
   * (PostgreSQL restarting): the build is done, so its verdict waits for the store
   * instead of being thrown away. Stops when the job is aborted (lease lost, shutdown);
   * once the database is back, a lease that expired meanwhile answers LEASE_LOST.
   */
  async #stored<T>(entry: Running, fn: () => Promise<T>): Promise<T> {
    for (let delay = STORE_RETRY_BASE_MS; ; delay = Math.min(delay * 2, STORE_RETRY_MAX_MS)) {
      try {
        return await fn();
      } catch (e) {
        if (!isReprodError(e, 'STORE_ERROR') || !e.retryable) throw e;
        if (entry.abort.signal.aborted) throw entry.abort.signal.reason;
        jobLogger(this.#o.logger, entry.job.id).warn({ err: e.message, retryInMs: delay }, 'store unreachable; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** One automatic re-check per original `not-reproduced` verdict (re-checks are not re-checked). */
  async #maybeRecheck(job: Job, outcome: string): Promise<void> {
    const delay = this.#o.recheckNotReproducedMs;
    if (delay === undefined || outcome !== 'not-reproduced' || !this.#o.store.scheduleRecheck || job.source?.startsWith('recheck:')) return;
    const re = await this.#o.store.scheduleRecheck(job.id, delay).catch((e: unknown) => {
      jobLogger(this.#o.logger, job.id).warn({ err: e }, 'could not schedule the re-check');
      return undefined;
    });
    if (re) jobLogger(this.#o.logger, job.id).info({ recheck: re.id, inMs: delay }, 're-check scheduled');
  }

  async #previousOutcome(job: Job): Promise<string | undefined> {
    const history = await this.#o.store.jobs({ subjectSha256: job.subject.sha256, state: 'done', limit: 50 });
    const prev = history.filter((j) => j.id !== job.id && j.outcome).sort((a, b) => (b.finishedAt ?? '').localeCompare(a.finishedAt ?? ''))[0];
    return prev?.outcome;
  }

  /**
   * Stops claiming, lets running jobs finish for `graceMs`, then aborts the rest
   * and hands them back to the queue.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.wake();
    await this.#loop;
    const idle = this.#queue.onIdle();
    const graceOver = await Promise.race([idle.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref())]);
    if (!graceOver) return;
    for (const entry of this.#running.values()) {
      entry.handBack = true;
      entry.abort.abort(new Error('shutdown'));
    }
    await Promise.race([idle, new Promise((r) => setTimeout(r, ABORT_SETTLE_MS).unref())]);
    // Runners that ignored the abort: hand their jobs back anyway; their late result is fenced out.
    for (const entry of this.#running.values()) await this.#o.store.release(entry.lease).catch(() => undefined);
  }
}
