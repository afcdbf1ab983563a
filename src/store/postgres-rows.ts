/** Row shapes of the PostgreSQL tables and their mapping to store values. */
import type { Job, JobState, WorkerInfo, WorkerLabels } from './pg-types.ts';
import type { AttemptInfo } from './types.ts';

export interface JobRow {
  id: string;
  attestation_sha256: string;
  subject_name: string;
  subject_sha256: string;
  state: JobState;
  attempt: number;
  max_attempts: number;
  not_before: Date;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  requires_arch: string | null;
  requires_rebuilder: string | null;
  priority: number;
  source: string | null;
  outcome: string | null;
  result: unknown;
  error: { code: string; message: string } | null;
  published: boolean;
  published_by: string | null;
  created_at: Date;
  started_at: Date | null;
  updated_at: Date;
  finished_at: Date | null;
}

export interface WorkerRow {
  id: string;
  hostname: string;
  pid: number;
  labels: WorkerLabels;
  started_at: Date;
  last_seen_at: Date;
  stopped_at: Date | null;
  leader: boolean;
  db_now: Date;
  leases: { jobId: string; attempt: number; subject: string; expiresAt: string; startedAt: string }[];
}

export interface AttemptRow {
  attempt: number;
  worker_id: string;
  started_at: Date;
  finished_at: Date | null;
  outcome: string | null;
  error: { code: string; message: string } | null;
  log: string | null;
}

const iso = (d: Date | null): string | undefined => (d ? d.toISOString() : undefined);

export function jobFromRow(r: JobRow): Job {
  const job: Job = {
    id: r.id,
    attestationSha256: r.attestation_sha256,
    subject: { name: r.subject_name, sha256: r.subject_sha256 },
    state: r.state,
    attempt: r.attempt,
    maxAttempts: r.max_attempts,
    published: r.published,
    requires: {},
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
  if (r.outcome !== null) job.outcome = r.outcome;
  if (r.result !== null) job.result = r.result;
  if (r.error !== null) job.error = r.error;
  if (r.published_by !== null) job.publishedBy = r.published_by;
  if (r.lease_owner !== null) job.leaseOwner = r.lease_owner;
  if (r.lease_expires_at !== null) job.leaseExpiresAt = iso(r.lease_expires_at)!;
  if (r.requires_arch !== null) job.requires.arch = r.requires_arch;
  if (r.requires_rebuilder !== null) job.requires.rebuilder = r.requires_rebuilder;
  if (r.source !== null) job.source = r.source;
  if (r.started_at !== null) job.startedAt = iso(r.started_at)!;
  if (r.finished_at !== null) job.finishedAt = iso(r.finished_at)!;
  return job;
}

export function workerFromRow(r: WorkerRow, staleMs: number): WorkerInfo {
  const w: WorkerInfo = {
    id: r.id,
    hostname: r.hostname,
    pid: r.pid,
    labels: r.labels,
    startedAt: r.started_at.toISOString(),
    lastSeenAt: r.last_seen_at.toISOString(),
    leader: r.leader,
    live: r.stopped_at === null && r.db_now.getTime() - r.last_seen_at.getTime() < staleMs,
    leases: r.leases,
  };
  if (r.stopped_at) w.stoppedAt = r.stopped_at.toISOString();
  return w;
}

export function attemptFromRow(r: AttemptRow): AttemptInfo {
  const a: AttemptInfo = { attempt: r.attempt, workerId: r.worker_id, startedAt: r.started_at.toISOString() };
  if (r.finished_at !== null) a.finishedAt = r.finished_at.toISOString();
  if (r.outcome !== null) a.outcome = r.outcome;
  if (r.error !== null) a.error = r.error;
  if (r.log !== null) a.log = r.log;
  return a;
}
