/** Provisional store types until src/store/types.ts lands (then re-exported from there). */
export type JobState = 'queued' | 'running' | 'done' | 'error';

/** Labels a worker declares; a missing list means "any". */
export interface WorkerLabels {
  arch?: string[];
  rebuilders?: string[];
}

export interface JobRequirements {
  arch?: string;
  rebuilder?: string;
}

export interface SubmitInput {
  id?: string;
  attestationSha256: string;
  attestation: Uint8Array;
  uri?: string;
  subject: { name: string; sha256: string };
  requires?: JobRequirements;
  maxAttempts?: number;
  priority?: number;
  source?: string;
  notBefore?: string;
}

export interface Job {
  id: string;
  attestationSha256: string;
  subject: { name: string; sha256: string };
  state: JobState;
  attempt: number;
  maxAttempts: number;
  outcome?: string;
  result?: unknown;
  error?: { code: string; message: string };
  published: boolean;
  publishedBy?: string;
  leaseOwner?: string;
  leaseExpiresAt?: string;
  requires: JobRequirements;
  source?: string;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  updatedAt: string;
}

export interface SubmitResult {
  job: Job;
  created: boolean;
}

export interface Lease {
  jobId: string;
  attempt: number;
  workerId: string;
  expiresAt: string;
}

export interface ClaimOptions {
  leaseMs: number;
  labels?: WorkerLabels;
}

export interface ClaimedJob {
  job: Job;
  lease: Lease;
}

export interface CompleteInput {
  outcome: string;
  result?: unknown;
  log?: string;
  publish?: () => Promise<void>;
}

export interface FailInput {
  error: { code: string; message: string; retryable?: boolean };
  retryAfterMs?: number;
  log?: string;
}

export interface ListJobsOptions {
  state?: JobState;
  subjectSha256?: string;
  limit?: number;
}

export interface WorkerRegistration {
  id: string;
  hostname: string;
  pid: number;
  labels: WorkerLabels;
}

export interface WorkerInfo extends WorkerRegistration {
  startedAt: string;
  lastSeenAt: string;
  stoppedAt?: string;
  leader: boolean;
  live: boolean;
  leases: { jobId: string; attempt: number; subject: string; expiresAt: string; startedAt: string }[];
}
