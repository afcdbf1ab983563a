/**
 * PostgresStore: the Store for scale-out. N daemons on N machines share one
 * PostgreSQL as queue and store; row locks do the coordination:
 *  - claim: `SELECT … FOR UPDATE SKIP LOCKED` over queued jobs the worker's labels
 *    can build, then a lease (worker id, expiry, attempt number) on the row;
 *  - heartbeat: extends the lease only while it is still this worker's;
 *  - complete/fail: fenced by (job id, attempt, worker) and an unexpired lease, so
 *    a worker that lost its lease cannot publish; the "published" mark is set in
 *    the same transaction that completes the job.
 * Times come from the database's clock (now()), never the worker's: machines'
 * clocks drift, the database has one.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import { ReprodError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { migratePostgres } from './postgres-migrations.ts';
import { createPool, inTransaction, query, redactUrl, storeError } from './postgres-pool.ts';
import type { JobRow } from './postgres-rows.ts';
import { attemptFromRow, jobFromRow, workerFromRow, type AttemptRow, type WorkerRow } from './postgres-rows.ts';
import type { AttemptInfo } from './types.ts';
import type {
  ClaimOptions,
  ClaimedJob,
  CompleteInput,
  FailInput,
  Job,
  JobState,
  Lease,
  ListJobsOptions,
  SubmitInput,
  SubmitResult,
  WorkerInfo,
  WorkerRegistration,
} from './pg-types.ts';

export const DEFAULT_MAX_ATTEMPTS = 3;
/** Longest a claimer goes without returning expired leases to the queue. */
export const REAP_INTERVAL_MS = 1000;

export interface PostgresStoreOptions {
  url: string;
  /** Connections in this process's pool. Default 10. */
  poolSize?: number;
  logger?: Logger;
}

/**
 * Claims the first queued job the labels allow ($3 arches, $4 rebuilders; NULL: any)
 * under a lease for worker $1 of $2 ms, and opens its attempt row. SKIP LOCKED:
 * concurrent claimers never wait for each other or get the same job.
 */
const CLAIM_SQL = `
  WITH claimed AS (
    UPDATE jobs j
       SET state = 'running', attempt = j.attempt + 1, lease_owner = $1,
           lease_expires_at = now() + $2 * interval '1 millisecond',
           started_at = now(), updated_at = now()
      FROM (SELECT id FROM jobs
             WHERE state = 'queued' AND not_before <= now()
               AND (requires_arch IS NULL OR $3::text[] IS NULL OR requires_arch = ANY ($3::text[]))
               AND (requires_rebuilder IS NULL OR $4::text[] IS NULL OR requires_rebuilder = ANY ($4::text[]))
             ORDER BY priority DESC, seq
             LIMIT 1
             FOR UPDATE SKIP LOCKED) c
     WHERE j.id = c.id
     RETURNING j.*),
  opened AS (
    INSERT INTO job_attempts (job_id, attempt, worker_id)
    SELECT id, attempt, $1 FROM claimed
    ON CONFLICT DO NOTHING)
  SELECT * FROM claimed`;

export class PostgresStore {
  readonly kind = 'postgres';
  readonly #pool: pg.Pool;
  readonly #url: string;
  #lastReap = 0;

  private constructor(pool: pg.Pool, url: string) {
    this.#pool = pool;
    this.#url = url;
  }

  /** Connects and migrates. Concurrent daemons starting at once are safe. */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const opts: { max?: number; logger?: Logger; applicationName: string } = { applicationName: `reprod@${hostname()}` };
    if (options.poolSize !== undefined) opts.max = options.poolSize;
    if (options.logger !== undefined) opts.logger = options.logger;
    const pool = createPool(options.url, opts);
    try {
      const client = await pool.connect();
      try {
        await migratePostgres(client);
      } finally {
        client.release();
      }
    } catch (e) {
      await pool.end().catch(() => {});
      const err = storeError(e, `cannot open ${redactUrl(options.url)}`);
      throw err;
    }
    return new PostgresStore(pool, options.url);
  }

  get url(): string {
    return this.#url;
  }

  async close(): Promise<void> {
    await this.#pool.end().catch(() => {});
  }

  async schemaVersion(): Promise<number> {
    const r = await query<{ v: number }>(this.#pool, 'schema version', 'SELECT max(version) AS v FROM schema_version');
    return r.rows[0]?.v ?? 0;
  }

  // --- intake -------------------------------------------------------------

  /** Idempotent on (attestation sha256, subject sha256): a repeat returns the existing job. */
  async submit(input: SubmitInput): Promise<SubmitResult> {
    return inTransaction(this.#pool, 'submit', async (c) => {
      await c.query(
        'INSERT INTO attestations (sha256, bytes, uri) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING',
        [input.attestationSha256, Buffer.from(input.attestation), input.uri ?? null],
      );
      const ins = await c.query<JobRow>(
        `INSERT INTO jobs (id, attestation_sha256, subject_name, subject_sha256, state, max_attempts,
                           requires_arch, requires_rebuilder, priority, source, not_before)
         VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8, $9, coalesce($10::timestamptz, now()))
         ON CONFLICT (attestation_sha256, subject_sha256, generation) DO NOTHING
         RETURNING *`,
        [
          input.id ?? randomUUID(),
          input.attestationSha256,
          input.subject.name,
          input.subject.sha256,
          input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
          input.requires?.arch ?? null,
          input.requires?.rebuilder ?? null,
          input.priority ?? 0,
          input.source ?? null,
          input.notBefore ?? null,
        ],
      );
      if (ins.rows[0]) return { job: jobFromRow(ins.rows[0]), created: true };
      const existing = await c.query<JobRow>(
        // The newest job of the pair: a re-check, when there is one.
        'SELECT * FROM jobs WHERE attestation_sha256 = $1 AND subject_sha256 = $2 ORDER BY generation DESC LIMIT 1',
        [input.attestationSha256, input.subject.sha256],
      );
      return { job: jobFromRow(existing.rows[0]!), created: false };
    });
  }

  async attestation(sha256: string): Promise<Uint8Array | undefined> {
    const r = await query<{ bytes: Buffer }>(this.#pool, 'attestation', 'SELECT bytes FROM attestations WHERE sha256 = $1', [sha256]);
    return r.rows[0] ? new Uint8Array(r.rows[0].bytes) : undefined;
  }

  // --- claiming -------------------------------------------------------------

  /**
   * Hands the oldest queued job this worker can build to it, under a lease.
   * Expired leases are first put back (or ended as `error` when out of attempts).
   */
  async claim(workerId: string, options: ClaimOptions): Promise<ClaimedJob | undefined> {
    // Reaping costs a round trip: do it when the queue looks empty, and now and then
    // so that an expired job does not wait behind a long queue.
    if (Date.now() - this.#lastReap > REAP_INTERVAL_MS) await this.reapExpired();
    const first = await this.#claimQueued(workerId, options);
    if (first) return first;
    return (await this.reapExpired()) > 0 ? this.#claimQueued(workerId, options) : undefined;
  }

  async #claimQueued(workerId: string, options: ClaimOptions): Promise<ClaimedJob | undefined> {
    const arch = options.labels?.arch?.length ? options.labels.arch : null;
    const rebuilders = options.labels?.rebuilders?.length ? options.labels.rebuilders : null;
    // One statement (atomic on its own): no BEGIN/COMMIT round trips. Named, so each
    // connection plans it once: planning this join costs more than running it.
    const r = await query<JobRow>(this.#pool, 'claim', CLAIM_SQL, [workerId, options.leaseMs, arch, rebuilders], 'reprod-claim');
    const row = r.rows[0];
    if (!row) return undefined;
    const job = jobFromRow(row);
    return { job, lease: { jobId: job.id, attempt: job.attempt, workerId, expiresAt: job.leaseExpiresAt! } };
  }

  /** Returns expired leases to the queue; returns how many. Any worker may call it. */
  async reapExpired(): Promise<number> {
    this.#lastReap = Date.now();
    const r = await query<{ n: number }>(
      this.#pool,
      'reap expired leases',
      `WITH expired AS (
         SELECT id, attempt FROM jobs WHERE state = 'running' AND lease_expires_at < now()
         FOR UPDATE SKIP LOCKED),
       requeued AS (
         UPDATE jobs j
            SET state = CASE WHEN j.attempt >= j.max_attempts THEN 'error' ELSE 'queued' END,
                outcome = CASE WHEN j.attempt >= j.max_attempts THEN 'error' ELSE j.outcome END,
                error = CASE WHEN j.attempt >= j.max_attempts
                        THEN jsonb_build_object('code', 'LEASE_LOST', 'message', 'worker lost its lease on the last attempt')
                        ELSE j.error END,
                finished_at = CASE WHEN j.attempt >= j.max_attempts THEN now() ELSE NULL END,
                lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
           FROM expired WHERE j.id = expired.id
         RETURNING j.id),
       -- The attempt's history says how it ended, as on SQLite.
       closed AS (
         UPDATE job_attempts a
            SET finished_at = now(), outcome = 'error',
                error = jsonb_build_object('code', 'LEASE_LOST', 'message', 'the lease expired (worker died or was killed)')
           FROM expired WHERE a.job_id = expired.id AND a.attempt = expired.attempt AND a.finished_at IS NULL)
       SELECT count(*)::int AS n FROM requeued`,
    );
    return r.rows[0]?.n ?? 0;
  }

  /** Extends the lease; LEASE_LOST when it is no longer this worker's. */
  async heartbeat(lease: Lease, leaseMs: number): Promise<Lease> {
    const r = await query<{ lease_expires_at: Date }>(
      this.#pool,
      'heartbeat',
      `UPDATE jobs SET lease_expires_at = now() + $4 * interval '1 millisecond', updated_at = now()
        WHERE id = $1 AND attempt = $2 AND lease_owner = $3 AND state = 'running' AND lease_expires_at > now()
        RETURNING lease_expires_at`,
      [lease.jobId, lease.attempt, lease.workerId, leaseMs],
    );
    const row = r.rows[0];
    if (!row) throw leaseLost(lease);
    return { ...lease, expiresAt: row.lease_expires_at.toISOString() };
  }

  /**
   * Ends a job with its verdict. `publish` runs inside the transaction, after the
   * row is locked and the lease checked, and before the published mark commits:
   * a fenced-out worker never reaches it.
   */
  async complete(lease: Lease, input: CompleteInput): Promise<Job> {
    return inTransaction(this.#pool, 'complete', async (c) => {
      await this.#lockLease(c, lease);
      if (input.publish) await input.publish();
      const r = await c.query<JobRow>(
        `UPDATE jobs SET state = 'done', outcome = $3, result = $4, error = NULL, published = true,
                published_by = $5, lease_owner = NULL, lease_expires_at = NULL,
                finished_at = now(), updated_at = now()
          WHERE id = $1 AND attempt = $2 RETURNING *`,
        [lease.jobId, lease.attempt, input.outcome, JSON.stringify(input.result ?? null), lease.workerId],
      );
      await this.#endAttempt(c, lease, input.outcome, null, input.log);
      return jobFromRow(r.rows[0]!);
    });
  }

  /** Ends an attempt with an error: requeued after `retryAfterMs` if retryable and attempts remain. */
  async fail(lease: Lease, input: FailInput): Promise<Job> {
    return inTransaction(this.#pool, 'fail', async (c) => {
      const row = await this.#lockLease(c, lease);
      const retry = input.error.retryable === true && row.attempt < row.max_attempts;
      const err = JSON.stringify({ code: input.error.code, message: input.error.message });
      const r = retry
        ? await c.query<JobRow>(
            `UPDATE jobs SET state = 'queued', error = $3, lease_owner = NULL, lease_expires_at = NULL,
                    not_before = now() + $4 * interval '1 millisecond', updated_at = now()
              WHERE id = $1 AND attempt = $2 RETURNING *`,
            [lease.jobId, lease.attempt, err, input.retryAfterMs ?? 0],
          )
        : await c.query<JobRow>(
            `UPDATE jobs SET state = 'error', outcome = 'error', error = $3, lease_owner = NULL,
                    lease_expires_at = NULL, finished_at = now(), updated_at = now()
              WHERE id = $1 AND attempt = $2 RETURNING *`,
            [lease.jobId, lease.attempt, err],
          );
      await this.#endAttempt(c, lease, 'error', err, input.log);
      return jobFromRow(r.rows[0]!);
    });
  }

  /** Gives a running job back to the queue without spending an attempt (graceful shutdown). */
  async release(lease: Lease): Promise<void> {
    await query(
      this.#pool,
      'release',
      `UPDATE jobs SET state = 'queued', attempt = attempt - 1, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
        WHERE id = $1 AND attempt = $2 AND lease_owner = $3 AND state = 'running'`,
      [lease.jobId, lease.attempt, lease.workerId],
    );
  }

  /** Puts an `error` job back in the queue with fresh attempts (POST /v1/jobs/:id/retry). */
  async retry(jobId: string): Promise<Job | undefined> {
    const r = await query<JobRow>(
      this.#pool,
      'retry',
      `UPDATE jobs SET state = 'queued', max_attempts = attempt + $2, outcome = NULL, not_before = now(),
              finished_at = NULL, updated_at = now()
        WHERE id = $1 AND state = 'error' RETURNING *`,
      [jobId, DEFAULT_MAX_ATTEMPTS],
    );
    return r.rows[0] ? jobFromRow(r.rows[0]) : undefined;
  }

  /**
   * A later re-check of a done job: a new job of the next generation for the same
   * pair, queued for `delayMs` from now. Undefined when the job is not done or the
   * pair has a queued or running job. The done row is locked, so two workers
   * scheduling the same re-check at once make one job.
   */
  async scheduleRecheck(jobId: string, delayMs: number): Promise<Job | undefined> {
    return inTransaction(this.#pool, 'schedule re-check', async (c) => {
      const prev = await c.query<JobRow>("SELECT * FROM jobs WHERE id = $1 AND state = 'done' FOR UPDATE", [jobId]);
      const p = prev.rows[0];
      if (!p) return undefined;
      const r = await c.query<JobRow>(
        `INSERT INTO jobs (id, attestation_sha256, subject_name, subject_sha256, generation, state, max_attempts,
                           requires_arch, requires_rebuilder, priority, source, not_before)
         SELECT $1, attestation_sha256, subject_name, subject_sha256,
                (SELECT max(generation) + 1 FROM jobs WHERE attestation_sha256 = $2 AND subject_sha256 = $3),
                'queued', max_attempts, requires_arch, requires_rebuilder, priority, $4, now() + $5 * interval '1 millisecond'
           FROM jobs WHERE id = $6
            AND NOT EXISTS (SELECT 1 FROM jobs WHERE attestation_sha256 = $2 AND subject_sha256 = $3 AND state IN ('queued', 'running'))
         RETURNING *`,
        [randomUUID(), p.attestation_sha256, p.subject_sha256, `recheck:${jobId}`, delayMs, jobId],
      );
      return r.rows[0] ? jobFromRow(r.rows[0]) : undefined;
    });
  }

  async #lockLease(c: pg.PoolClient, lease: Lease): Promise<JobRow> {
    const r = await c.query<JobRow>(
      `SELECT * FROM jobs WHERE id = $1 AND attempt = $2 AND lease_owner = $3 AND state = 'running'
          AND lease_expires_at > now() FOR UPDATE`,
      [lease.jobId, lease.attempt, lease.workerId],
    );
    if (!r.rows[0]) throw leaseLost(lease);
    return r.rows[0];
  }

  async #endAttempt(c: pg.PoolClient, lease: Lease, outcome: string, error: string | null, log?: string): Promise<void> {
    await c.query(
      `UPDATE job_attempts SET finished_at = now(), outcome = $3, error = $4, log = $5
        WHERE job_id = $1 AND attempt = $2`,
      [lease.jobId, lease.attempt, outcome, error, log ?? null],
    );
  }

  // --- reading ---------------------------------------------------------------

  async job(id: string): Promise<Job | undefined> {
    const r = await query<JobRow>(this.#pool, 'job', 'SELECT * FROM jobs WHERE id = $1', [id]);
    return r.rows[0] ? jobFromRow(r.rows[0]) : undefined;
  }

  async jobs(options: ListJobsOptions = {}): Promise<Job[]> {
    const r = await query<JobRow>(
      this.#pool,
      'list jobs',
      `SELECT * FROM jobs WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR subject_sha256 = $2)
        ORDER BY seq DESC LIMIT $3`,
      [options.state ?? null, options.subjectSha256 ?? null, options.limit ?? 100],
    );
    return r.rows.map(jobFromRow);
  }

  /** Every attempt of a job, oldest first, with its worker and log. */
  async attempts(jobId: string): Promise<AttemptInfo[]> {
    const r = await query<AttemptRow>(this.#pool, 'attempts', 'SELECT * FROM job_attempts WHERE job_id = $1 ORDER BY attempt', [jobId]);
    return r.rows.map(attemptFromRow);
  }

  async countByState(): Promise<Record<JobState, number>> {
    const r = await query<{ state: JobState; n: string }>(this.#pool, 'count', 'SELECT state, count(*) AS n FROM jobs GROUP BY state');
    const out = { queued: 0, running: 0, done: 0, error: 0 } as Record<JobState, number>;
    for (const row of r.rows) out[row.state] = Number(row.n);
    return out;
  }

  // --- feed cursors ------------------------------------------------------------

  async getCursor(feed: string): Promise<string | undefined> {
    const r = await query<{ cursor: string }>(this.#pool, 'get cursor', 'SELECT cursor FROM feed_cursors WHERE feed = $1', [feed]);
    return r.rows[0]?.cursor;
  }

  async setCursor(feed: string, cursor: string): Promise<void> {
    await query(
      this.#pool,
      'set cursor',
      `INSERT INTO feed_cursors (feed, cursor) VALUES ($1, $2)
       ON CONFLICT (feed) DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = now()`,
      [feed, cursor],
    );
  }

  // --- worker registry -----------------------------------------------------------

  async registerWorker(w: WorkerRegistration): Promise<void> {
    await query(
      this.#pool,
      'register worker',
      `INSERT INTO workers (id, hostname, pid, labels) VALUES ($1, $2, $3, $4)
       ON CONFLICT (id) DO UPDATE SET hostname = EXCLUDED.hostname, pid = EXCLUDED.pid, labels = EXCLUDED.labels,
              last_seen_at = now(), stopped_at = NULL`,
      [w.id, w.hostname, w.pid, JSON.stringify(w.labels)],
    );
  }

  /** Marks the worker alive (and whether it leads feed intake). */
  async touchWorker(id: string, leader: boolean): Promise<void> {
    await query(this.#pool, 'touch worker', 'UPDATE workers SET last_seen_at = now(), leader = $2 WHERE id = $1', [id, leader]);
  }

  async stopWorker(id: string): Promise<void> {
    await query(this.#pool, 'stop worker', 'UPDATE workers SET stopped_at = now(), leader = false WHERE id = $1', [id]);
  }

  /** Workers seen within `staleMs` (all when `all`), each with its current leases. */
  async listWorkers(options: { staleMs: number; all?: boolean }): Promise<WorkerInfo[]> {
    const r = await query<WorkerRow>(
      this.#pool,
      'list workers',
      `SELECT w.*, now() AS db_now,
              coalesce(json_agg(json_build_object('jobId', j.id, 'attempt', j.attempt, 'subject', j.subject_name,
                                  'expiresAt', j.lease_expires_at, 'startedAt', j.started_at))
                       FILTER (WHERE j.id IS NOT NULL), '[]') AS leases
         FROM workers w
         LEFT JOIN jobs j ON j.lease_owner = w.id AND j.state = 'running'
        WHERE $2 OR (w.stopped_at IS NULL AND w.last_seen_at > now() - $1 * interval '1 millisecond')
        GROUP BY w.id
        ORDER BY w.hostname, w.id`,
      [options.staleMs, options.all === true],
    );
    return r.rows.map((row) => workerFromRow(row, options.staleMs));
  }
}

function leaseLost(lease: Lease): ReprodError {
  return new ReprodError('LEASE_LOST', `job ${lease.jobId} attempt ${lease.attempt} is no longer leased to ${lease.workerId}`, {
    jobId: lease.jobId,
    details: { attempt: lease.attempt, workerId: lease.workerId },
  });
}
