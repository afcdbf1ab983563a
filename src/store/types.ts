/**
 * THE job store contract. Two implementations: SqliteStore (embedded default, one
 * file) and PostgresStore (scale-out). Both pass test/store/contract.ts.
 *
 * Guarantees every Store gives:
 *  - submit is idempotent on (attestation sha256, subject sha256);
 *  - claim hands a queued job to one worker under a lease (worker id, expiry,
 *    attempt number — the attempt is the fencing token);
 *  - heartbeat extends a lease only while it is still the caller's;
 *  - complete/fail are fenced by (job id, attempt, worker): a worker that lost its
 *    lease gets LEASE_LOST and never reaches `publish`;
 *  - complete runs `publish` after the lease check and sets the published mark in
 *    the same transaction, so a verdict is published once;
 *  - feed cursors persist; migrations are versioned in a schema_version table.
 */
export type {
  ClaimedJob,
  ClaimOptions,
  CompleteInput,
  FailInput,
  Job,
  JobRequirements,
  JobState,
  Lease,
  ListJobsOptions,
  SubmitInput,
  SubmitResult,
  WorkerInfo,
  WorkerLabels,
  WorkerRegistration,
} from './pg-types.ts';
import type {
  ClaimedJob,
  ClaimOptions,
  CompleteInput,
  FailInput,
  Job,
  JobState,
  Lease,
  ListJobsOptions,
  SubmitInput,
  SubmitResult,
} from './pg-types.ts';

export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'done', 'error'];

/** One run of a job: who ran it, how it ended, its log (kept for every attempt). */
export interface AttemptInfo {
  attempt: number;
  workerId: string;
  startedAt: string;
  finishedAt?: string;
  outcome?: string;
  error?: { code: string; message: string };
  log?: string;
}

export interface Store {
  readonly kind: string;
  close(): Promise<void>;
  schemaVersion(): Promise<number>;

  submit(input: SubmitInput): Promise<SubmitResult>;
  /** The stored attestation bytes (content-addressed), so a job can be re-run after a crash. */
  attestation(sha256: string): Promise<Uint8Array | undefined>;

  claim(workerId: string, options: ClaimOptions): Promise<ClaimedJob | undefined>;
  /** Returns expired leases to the queue (or ends them as `error` when out of attempts). */
  reapExpired(): Promise<number>;
  heartbeat(lease: Lease, leaseMs: number): Promise<Lease>;
  complete(lease: Lease, input: CompleteInput): Promise<Job>;
  fail(lease: Lease, input: FailInput): Promise<Job>;
  /** Hands a running job back without spending an attempt (graceful shutdown). */
  release(lease: Lease): Promise<void>;

  job(id: string): Promise<Job | undefined>;
  jobs(options?: ListJobsOptions): Promise<Job[]>;
  countByState(): Promise<Record<JobState, number>>;

  getCursor(feed: string): Promise<string | undefined>;
  setCursor(feed: string, cursor: string): Promise<void>;

  // Optional extras: the daemon uses them when present and degrades without.
  /** Every attempt of a job, oldest first, with its log. */
  attempts?(jobId: string): Promise<AttemptInfo[]>;
  /** Puts an `error` job back in the queue with fresh attempts (POST /v1/jobs/:id/retry). */
  retry?(jobId: string): Promise<Job | undefined>;
  /**
   * A later re-check of a finished job: a new job for the same (attestation, subject)
   * pair, queued to start after `delayMs`, its `source` set to `recheck:<job id>`. The
   * finished job and its verdict stay as they are. Undefined when the job is not done
   * or the pair already has a queued or running job. Submitting the pair again then
   * returns the newest job.
   */
  scheduleRecheck?(jobId: string, delayMs: number): Promise<Job | undefined>;
  /**
   * Expires every lease held by `workerId` at once: a single-node daemon restarting
   * under the same worker id reclaims the jobs its previous (killed) process held.
   */
  expireLeasesOf?(workerId: string): Promise<number>;
}

/** Where a store comes from: tests pass a factory so one contract suite runs on every store. */
export type MakeStore = () => Promise<Store>;

export function isJobState(s: string): s is JobState {
  return (JOB_STATES as readonly string[]).includes(s);
}
