/**
 * SqliteStore: the embedded default. One file, WAL, Node's built-in `node:sqlite`.
 * Every operation runs under one in-process async lock, so `complete` can keep its
 * write transaction open across the async `publish` callback without another
 * operation of this process slipping into it; other processes on the same file
 * wait on SQLite's own write lock (busy_timeout).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { ReprodError } from '../errors.ts';
import { migrateSqlite } from './sqlite-migrations.ts';
import { iso, jobFromRow, leaseLost, type JobRow } from './sqlite-rows.ts';
import type {
  AttemptInfo,
  ClaimedJob,
  ClaimOptions,
  CompleteInput,
  FailInput,
  Job,
  JobState,
  Lease,
  ListJobsOptions,
  Store,
  SubmitInput,
  SubmitResult,
} from './types.ts';

export const DEFAULT_MAX_ATTEMPTS = 3;
const BUSY_TIMEOUT_MS = 10_000;

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly #db: DatabaseSync;
  readonly path: string;
  #lock: Promise<unknown> = Promise.resolve();
  readonly #statements = new Map<string, StatementSync>();

  private constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.path = path;
  }

  /** Opens (creating if needed) and migrates the database file. `:memory:` works for tests. */
  static async open(path: string): Promise<SqliteStore> {
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      const db = new DatabaseSync(path);
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.exec('PRAGMA journal_mode = WAL');
      // NORMAL in WAL mode loses at most the last transactions on power loss, never
      // consistency; a process crash (kill -9) loses nothing committed.
      db.exec('PRAGMA synchronous = NORMAL');
      db.exec('PRAGMA foreign_keys = OFF');
      migrateSqlite(db);
      db.exec('PRAGMA foreign_keys = ON');
      return new SqliteStore(db, path);
    } catch (e) {
      throw new ReprodError('STORE_ERROR', `cannot open the SQLite store ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Runs `fn` alone (no other operation of this store interleaves). */
  #serial<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  #sync<T>(fn: () => T): Promise<T> {
    return this.#serial(fn);
  }

  #tx<T>(fn: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.#db.exec('COMMIT');
      return out;
    } catch (e) {
      this.#db.exec('ROLLBACK');
      throw e;
    }
  }

  /** Prepared once per SQL text: preparing costs more than running these small statements. */
  #stmt(sql: string): StatementSync {
    let st = this.#statements.get(sql);
    if (!st) {
      st = this.#db.prepare(sql);
      this.#statements.set(sql, st);
    }
    return st;
  }

  #get<T>(sql: string, ...params: SQLInputValue[]): T | undefined {
    return this.#stmt(sql).get(...params) as T | undefined;
  }

  #all<T>(sql: string, ...params: SQLInputValue[]): T[] {
    return this.#stmt(sql).all(...params) as T[];
  }

  #run(sql: string, ...params: SQLInputValue[]): number {
    return Number(this.#stmt(sql).run(...params).changes);
  }

  async close(): Promise<void> {
    await this.#serial(() => {
      if (this.#db.isOpen) this.#db.close();
    });
  }

  async schemaVersion(): Promise<number> {
    return this.#sync(() => this.#get<{ v: number }>('SELECT max(version) AS v FROM schema_version')?.v ?? 0);
  }

  submit(input: SubmitInput): Promise<SubmitResult> {
    return this.#sync(() => this.#submit(input));
  }

  /** Many submissions in one transaction (feeds, benches). */
  submitMany(inputs: SubmitInput[]): Promise<SubmitResult[]> {
    return this.#sync(() => this.#tx(() => inputs.map((i) => this.#submitRow(i))));
  }

  #submit(input: SubmitInput): SubmitResult {
    return this.#tx(() => this.#submitRow(input));
  }

  #submitRow(input: SubmitInput): SubmitResult {
    const now = Date.now();
    this.#run(
      'INSERT INTO attestations (sha256, bytes, uri, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING',
      input.attestationSha256,
      input.attestation,
      input.uri ?? null,
      now,
    );
    const notBefore = input.notBefore ? Date.parse(input.notBefore) : now;
    const inserted = this.#get<JobRow>(
      `INSERT INTO jobs (id, attestation_sha256, subject_name, subject_sha256, state, max_attempts, requires_arch,
                         requires_rebuilder, priority, source, not_before, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (attestation_sha256, subject_sha256, generation) DO NOTHING RETURNING *`,
      input.id ?? randomUUID(),
      input.attestationSha256,
      input.subject.name,
      input.subject.sha256,
      input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      input.requires?.arch ?? null,
      input.requires?.rebuilder ?? null,
      input.priority ?? 0,
      input.source ?? null,
      notBefore,
      now,
      now,
    );
    if (inserted) return { job: jobFromRow(inserted), created: true };
    const existing = this.#get<JobRow>(
      // The newest job of the pair: a re-check, when there is one.
      'SELECT * FROM jobs WHERE attestation_sha256 = ? AND subject_sha256 = ? ORDER BY generation DESC LIMIT 1',
      input.attestationSha256,
      input.subject.sha256,
    )!;
    return { job: jobFromRow(existing), created: false };
  }

  attestation(sha256: string): Promise<Uint8Array | undefined> {
    return this.#sync(() => {
      const r = this.#get<{ bytes: Uint8Array }>('SELECT bytes FROM attestations WHERE sha256 = ?', sha256);
      return r ? new Uint8Array(r.bytes) : undefined;
    });
  }

  claim(workerId: string, options: ClaimOptions): Promise<ClaimedJob | undefined> {
    return this.#sync(() =>
      this.#tx(() => {
        const now = Date.now();
        this.#reap(now);
        const arch = options.labels?.arch?.length ? options.labels.arch : undefined;
        const rebuilders = options.labels?.rebuilders?.length ? options.labels.rebuilders : undefined;
        const where = ["state = 'queued'", 'not_before <= ?'];
        const params: SQLInputValue[] = [now];
        if (arch) {
          where.push(`(requires_arch IS NULL OR requires_arch IN (${arch.map(() => '?').join(',')}))`);
          params.push(...arch);
        }
        if (rebuilders) {
          where.push(`(requires_rebuilder IS NULL OR requires_rebuilder IN (${rebuilders.map(() => '?').join(',')}))`);
          params.push(...rebuilders);
        }
        const pick = this.#get<{ id: string }>(
          `SELECT id FROM jobs WHERE ${where.join(' AND ')} ORDER BY priority DESC, seq LIMIT 1`,
          ...params,
        );
        if (!pick) return undefined;
        const row = this.#get<JobRow>(
          `UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_owner = ?, lease_expires_at = ?,
                  started_at = ?, updated_at = ? WHERE id = ? RETURNING *`,
          workerId,
          now + options.leaseMs,
          now,
          now,
          pick.id,
        )!;
        this.#run(
          `INSERT INTO job_attempts (job_id, attempt, worker_id, started_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (job_id, attempt) DO UPDATE SET worker_id = excluded.worker_id, started_at = excluded.started_at,
                  finished_at = NULL, outcome = NULL, error = NULL`,
          row.id,
          row.attempt,
          workerId,
          now,
        );
        const job = jobFromRow(row);
        return { job, lease: { jobId: job.id, attempt: job.attempt, workerId, expiresAt: job.leaseExpiresAt! } };
      }),
    );
  }

  reapExpired(): Promise<number> {
    return this.#sync(() => this.#tx(() => this.#reap(Date.now())));
  }

  #reap(now: number, owner?: string): number {
    const rows = owner === undefined
      ? this.#all<{ id: string; attempt: number }>("SELECT id, attempt FROM jobs WHERE state = 'running' AND lease_expires_at < ?", now)
      : this.#all<{ id: string; attempt: number }>("SELECT id, attempt FROM jobs WHERE state = 'running' AND lease_owner = ?", owner);
    if (rows.length === 0) return 0;
    const lost = JSON.stringify({ code: 'LEASE_LOST', message: 'worker lost its lease on the last attempt' });
    for (const r of rows) {
      this.#run(
        `UPDATE jobs SET
           state = CASE WHEN attempt >= max_attempts THEN 'error' ELSE 'queued' END,
           outcome = CASE WHEN attempt >= max_attempts THEN 'error' ELSE outcome END,
           error = CASE WHEN attempt >= max_attempts THEN ? ELSE error END,
           finished_at = CASE WHEN attempt >= max_attempts THEN ? ELSE NULL END,
           lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
         WHERE id = ?`,
        lost,
        now,
        now,
        r.id,
      );
      this.#run(
        `UPDATE job_attempts SET finished_at = ?, outcome = 'error', error = ? WHERE job_id = ? AND attempt = ? AND finished_at IS NULL`,
        now,
        JSON.stringify({ code: 'LEASE_LOST', message: 'the lease expired (worker died or was killed)' }),
        r.id,
        r.attempt,
      );
    }
    return rows.length;
  }

  expireLeasesOf(workerId: string): Promise<number> {
    return this.#sync(() => this.#tx(() => this.#reap(Date.now(), workerId)));
  }

  heartbeat(lease: Lease, leaseMs: number): Promise<Lease> {
    return this.#sync(() => {
      const now = Date.now();
      const r = this.#get<{ lease_expires_at: number }>(
        `UPDATE jobs SET lease_expires_at = ?, updated_at = ?
          WHERE id = ? AND attempt = ? AND lease_owner = ? AND state = 'running' AND lease_expires_at > ?
          RETURNING lease_expires_at`,
        now + leaseMs,
        now,
        lease.jobId,
        lease.attempt,
        lease.workerId,
        now,
      );
      if (!r) throw leaseLost(lease);
      return { ...lease, expiresAt: iso(r.lease_expires_at) };
    });
  }

  #lockLease(lease: Lease): JobRow {
    const row = this.#get<JobRow>(
      `SELECT * FROM jobs WHERE id = ? AND attempt = ? AND lease_owner = ? AND state = 'running' AND lease_expires_at > ?`,
      lease.jobId,
      lease.attempt,
      lease.workerId,
      Date.now(),
    );
    if (!row) throw leaseLost(lease);
    return row;
  }

  complete(lease: Lease, input: CompleteInput): Promise<Job> {
    return this.#serial(async () => {
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        this.#lockLease(lease);
        if (input.publish) await input.publish();
        const now = Date.now();
        const row = this.#get<JobRow>(
          `UPDATE jobs SET state = 'done', outcome = ?, result = ?, error = NULL, published = 1, published_by = ?,
                  lease_owner = NULL, lease_expires_at = NULL, finished_at = ?, updated_at = ?
            WHERE id = ? AND attempt = ? RETURNING *`,
          input.outcome,
          JSON.stringify(input.result ?? null),
          lease.workerId,
          now,
          now,
          lease.jobId,
          lease.attempt,
        )!;
        this.#endAttempt(lease, input.outcome, null, input.log, now);
        this.#db.exec('COMMIT');
        return jobFromRow(row);
      } catch (e) {
        this.#db.exec('ROLLBACK');
        throw e;
      }
    });
  }

  fail(lease: Lease, input: FailInput): Promise<Job> {
    return this.#sync(() =>
      this.#tx(() => {
        const cur = this.#lockLease(lease);
        const now = Date.now();
        const retry = input.error.retryable === true && cur.attempt < cur.max_attempts;
        const err = JSON.stringify({ code: input.error.code, message: input.error.message });
        const row = retry
          ? this.#get<JobRow>(
              `UPDATE jobs SET state = 'queued', error = ?, lease_owner = NULL, lease_expires_at = NULL, not_before = ?,
                      updated_at = ? WHERE id = ? AND attempt = ? RETURNING *`,
              err,
              now + (input.retryAfterMs ?? 0),
              now,
              lease.jobId,
              lease.attempt,
            )!
          : this.#get<JobRow>(
              `UPDATE jobs SET state = 'error', outcome = 'error', error = ?, lease_owner = NULL, lease_expires_at = NULL,
                      finished_at = ?, updated_at = ? WHERE id = ? AND attempt = ? RETURNING *`,
              err,
              now,
              now,
              lease.jobId,
              lease.attempt,
            )!;
        this.#endAttempt(lease, 'error', err, input.log, now);
        return jobFromRow(row);
      }),
    );
  }

  release(lease: Lease): Promise<void> {
    return this.#sync(() =>
      this.#tx(() => {
        const n = this.#run(
          `UPDATE jobs SET state = 'queued', attempt = attempt - 1, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
            WHERE id = ? AND attempt = ? AND lease_owner = ? AND state = 'running'`,
          Date.now(),
          lease.jobId,
          lease.attempt,
          lease.workerId,
        );
        if (n > 0) this.#run('DELETE FROM job_attempts WHERE job_id = ? AND attempt = ?', lease.jobId, lease.attempt);
      }),
    );
  }

  #endAttempt(lease: Lease, outcome: string, error: string | null, log: string | undefined, now: number): void {
    this.#run(
      'UPDATE job_attempts SET finished_at = ?, outcome = ?, error = ?, log = ? WHERE job_id = ? AND attempt = ?',
      now,
      outcome,
      error,
      log ?? null,
      lease.jobId,
      lease.attempt,
    );
  }

  job(id: string): Promise<Job | undefined> {
    return this.#sync(() => {
      const r = this.#get<JobRow>('SELECT * FROM jobs WHERE id = ?', id);
      return r ? jobFromRow(r) : undefined;
    });
  }

  jobs(options: ListJobsOptions = {}): Promise<Job[]> {
    return this.#sync(() =>
      this.#all<JobRow>(
        `SELECT * FROM jobs WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR subject_sha256 = ?2) ORDER BY seq DESC LIMIT ?3`,
        options.state ?? null,
        options.subjectSha256 ?? null,
        options.limit ?? 100,
      ).map(jobFromRow),
    );
  }

  countByState(): Promise<Record<JobState, number>> {
    return this.#sync(() => {
      const out: Record<JobState, number> = { queued: 0, running: 0, done: 0, error: 0 };
      for (const r of this.#all<{ state: JobState; n: number }>('SELECT state, count(*) AS n FROM jobs GROUP BY state')) out[r.state] = r.n;
      return out;
    });
  }

  attempts(jobId: string): Promise<AttemptInfo[]> {
    return this.#sync(() =>
      this.#all<{ attempt: number; worker_id: string; started_at: number; finished_at: number | null; outcome: string | null; error: string | null; log: string | null }>(
        'SELECT * FROM job_attempts WHERE job_id = ? ORDER BY attempt',
        jobId,
      ).map((r) => ({
        attempt: r.attempt,
        workerId: r.worker_id,
        startedAt: iso(r.started_at),
        ...(r.finished_at !== null ? { finishedAt: iso(r.finished_at) } : {}),
        ...(r.outcome !== null ? { outcome: r.outcome } : {}),
        ...(r.error !== null ? { error: JSON.parse(r.error) as { code: string; message: string } } : {}),
        ...(r.log !== null ? { log: r.log } : {}),
      })),
    );
  }

  retry(jobId: string): Promise<Job | undefined> {
    return this.#sync(() => {
      const now = Date.now();
      const r = this.#get<JobRow>(
        `UPDATE jobs SET state = 'queued', max_attempts = attempt + ?, outcome = NULL, not_before = ?, finished_at = NULL,
                updated_at = ? WHERE id = ? AND state = 'error' RETURNING *`,
        DEFAULT_MAX_ATTEMPTS,
        now,
        now,
        jobId,
      );
      return r ? jobFromRow(r) : undefined;
    });
  }

  scheduleRecheck(jobId: string, delayMs: number): Promise<Job | undefined> {
    return this.#sync(() =>
      this.#tx(() => {
        const prev = this.#get<JobRow & { generation: number }>("SELECT * FROM jobs WHERE id = ? AND state = 'done'", jobId);
        if (!prev) return undefined;
        const open = this.#get<{ n: number }>(
          "SELECT count(*) AS n FROM jobs WHERE attestation_sha256 = ? AND subject_sha256 = ? AND state IN ('queued', 'running')",
          prev.attestation_sha256,
          prev.subject_sha256,
        );
        if ((open?.n ?? 0) > 0) return undefined;
        const now = Date.now();
        const row = this.#get<JobRow>(
          `INSERT INTO jobs (id, attestation_sha256, subject_name, subject_sha256, generation, state, max_attempts, requires_arch,
                             requires_rebuilder, priority, source, not_before, created_at, updated_at)
           SELECT ?1, attestation_sha256, subject_name, subject_sha256,
                  (SELECT max(generation) + 1 FROM jobs WHERE attestation_sha256 = ?2 AND subject_sha256 = ?3),
                  'queued', max_attempts, requires_arch, requires_rebuilder, priority, ?4, ?5, ?6, ?6 FROM jobs WHERE id = ?7
           RETURNING *`,
          randomUUID(),
          prev.attestation_sha256,
          prev.subject_sha256,
          `recheck:${jobId}`,
          now + delayMs,
          now,
          jobId,
        );
        return row ? jobFromRow(row) : undefined;
      }),
    );
  }

  getCursor(feed: string): Promise<string | undefined> {
    return this.#sync(() => this.#get<{ cursor: string }>('SELECT cursor FROM feed_cursors WHERE feed = ?', feed)?.cursor);
  }

  setCursor(feed: string, cursor: string): Promise<void> {
    return this.#sync(() => {
      this.#run(
        `INSERT INTO feed_cursors (feed, cursor, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (feed) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`,
        feed,
        cursor,
        Date.now(),
      );
    });
  }
}
