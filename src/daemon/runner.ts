/**
 * The daemon runs jobs through a JobRunner: the real one drives the rebuild
 * pipeline in containers (pipeline-runner.ts); tests may plug in a light real
 * runner to exercise queue semantics. A runner never publishes: it stages what
 * it would publish, and the daemon publishes once the store accepts the result
 * (fenced by the lease), so a lost lease or a crash never yields a second verdict.
 */
import type { Publication } from '../publish/index.ts';
import type { Job } from '../store/types.ts';

export type JobOutcome = 'reproduced' | 'not-reproduced' | 'error';

export interface RunContext {
  /** Aborted on lease loss or shutdown; runners stop their containers on it. */
  signal: AbortSignal;
  /** Extends the lease now (the daemon also heartbeats on a timer). */
  heartbeat: () => Promise<void>;
  /** The stored attestation bytes. */
  attestation: Uint8Array;
  /** Which attempt this is (1-based); also the fencing token. */
  attempt: number;
  /** Lines for this attempt's log (kept in the store per attempt). */
  log: (line: string) => void;
}

export interface JobResult {
  outcome: JobOutcome;
  /** Why, when `outcome` is error; a retryable error is retried instead of published. */
  error?: { code: string; message: string; retryable?: boolean };
  /** Staged folder per subject (`<staging>/<sha256>/…`) the daemon moves into the output tree. */
  stagedDir?: string;
  /** What sinks receive (webhook, Rekor); the directory tree comes from `stagedDir`. */
  publications?: Publication[];
  /** Report files (report.json, report.html) relative to the published folder. */
  reports?: string[];
  /** Plan, timings and verdict: stored with the job and shown by the API. */
  details?: Record<string, unknown>;
}

export interface JobRunner {
  run(job: Job, ctx: RunContext): Promise<JobResult>;
  /** Called once at daemon start (e.g. remove orphan containers of a killed predecessor). */
  recover?(): Promise<void>;
  close?(): Promise<void>;
}
