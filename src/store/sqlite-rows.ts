/** Row shapes of the SQLite store and their mapping to the Store's plain values. */
import { ReprodError } from '../errors.ts';
import type { Job, JobState, Lease } from './types.ts';

export interface JobRow {
  id: string;
  attestation_sha256: string;
  subject_name: string;
  subject_sha256: string;
  state: JobState;
  attempt: number;
  max_attempts: number;
  outcome: string | null;
  result: string | null;
  error: string | null;
  published: number;
  published_by: string | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  requires_arch: string | null;
  requires_rebuilder: string | null;
  source: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
}

export const iso = (ms: number): string => new Date(ms).toISOString();

export function jobFromRow(r: JobRow): Job {
  const job: Job = {
    id: r.id,
    attestationSha256: r.attestation_sha256,
    subject: { name: r.subject_name, sha256: r.subject_sha256 },
    state: r.state,
    attempt: r.attempt,
    maxAttempts: r.max_attempts,
    published: r.published === 1,
    requires: {
      ...(r.requires_arch ? { arch: r.requires_arch } : {}),
      ...(r.requires_rebuilder ? { rebuilder: r.requires_rebuilder } : {}),
    },
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
  if (r.outcome !== null) job.outcome = r.outcome;
  if (r.result !== null) job.result = JSON.parse(r.result) as unknown;
  if (r.error !== null) job.error = JSON.parse(r.error) as { code: string; message: string };
  if (r.published_by !== null) job.publishedBy = r.published_by;
  if (r.lease_owner !== null) job.leaseOwner = r.lease_owner;
  if (r.lease_expires_at !== null) job.leaseExpiresAt = iso(r.lease_expires_at);
  if (r.source !== null) job.source = r.source;
  if (r.started_at !== null) job.startedAt = iso(r.started_at);
  if (r.finished_at !== null) job.finishedAt = iso(r.finished_at);
  return job;
}

export function leaseLost(lease: Lease): ReprodError {
  return new ReprodError('LEASE_LOST', `job ${lease.jobId} attempt ${lease.attempt} is no longer leased to ${lease.workerId}`, {
    jobId: lease.jobId,
    details: { attempt: lease.attempt, workerId: lease.workerId },
  });
}
