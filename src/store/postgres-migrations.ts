/**
 * PostgreSQL schema, versioned like the SQLite one: each entry runs once, in
 * order, inside a transaction, and bumps `schema_version`. Several daemons may
 * start at once against an empty database, so migrating takes a transaction-level
 * advisory lock first: one migrates, the others wait and then see the new version.
 */
import type pg from 'pg';

export interface PgMigration {
  version: number;
  description: string;
  sql: string;
}

export const PG_MIGRATIONS: PgMigration[] = [
  {
    version: 1,
    description: 'attestations, jobs, feed cursors',
    sql: `
      CREATE TABLE attestations (
        sha256      text PRIMARY KEY,
        bytes       bytea NOT NULL,
        uri         text,
        received_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE jobs (
        id                 text PRIMARY KEY,
        attestation_sha256 text NOT NULL REFERENCES attestations (sha256),
        subject_name       text NOT NULL,
        subject_sha256     text NOT NULL,
        state              text NOT NULL,
        attempt            integer NOT NULL DEFAULT 0,
        max_attempts       integer NOT NULL,
        not_before         timestamptz NOT NULL DEFAULT now(),
        lease_owner        text,
        lease_expires_at   timestamptz,
        -- labels a worker must have to build this job (NULL: any worker)
        requires_arch      text,
        requires_rebuilder text,
        priority           integer NOT NULL DEFAULT 0,
        source             text,
        outcome            text,
        result             jsonb,
        error              jsonb,
        published          boolean NOT NULL DEFAULT false,
        published_by       text,
        created_at         timestamptz NOT NULL DEFAULT now(),
        started_at         timestamptz,
        updated_at         timestamptz NOT NULL DEFAULT now(),
        finished_at        timestamptz,
        seq                bigserial,
        UNIQUE (attestation_sha256, subject_sha256)
      );
      -- The claim query walks this index only: queued jobs in priority/arrival order.
      CREATE INDEX jobs_queued ON jobs (priority DESC, seq) WHERE state = 'queued';
      CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE state = 'running';
      CREATE INDEX jobs_subject ON jobs (subject_sha256);
      CREATE INDEX jobs_state ON jobs (state, updated_at);
      CREATE TABLE job_attempts (
        job_id      text NOT NULL REFERENCES jobs (id),
        attempt     integer NOT NULL,
        worker_id   text NOT NULL,
        started_at  timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        outcome     text,
        error       jsonb,
        log         text,
        PRIMARY KEY (job_id, attempt)
      );
      CREATE TABLE feed_cursors (
        feed       text PRIMARY KEY,
        cursor     text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 2,
    description: 'worker registry',
    sql: `
      CREATE TABLE workers (
        id           text PRIMARY KEY,
        hostname     text NOT NULL,
        pid          integer NOT NULL,
        labels       jsonb NOT NULL DEFAULT '{}',
        started_at   timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        stopped_at   timestamptz,
        leader       boolean NOT NULL DEFAULT false
      );
    `,
  },
  {
    version: 3,
    description: 're-checks: several jobs per (attestation, subject) pair, told apart by generation',
    sql: `
      ALTER TABLE jobs ADD COLUMN generation integer NOT NULL DEFAULT 0;
      ALTER TABLE jobs DROP CONSTRAINT jobs_attestation_sha256_subject_sha256_key;
      ALTER TABLE jobs ADD CONSTRAINT jobs_pair_generation UNIQUE (attestation_sha256, subject_sha256, generation);
    `,
  },
];

/** Any fixed number: the lock only serialises concurrent migrators. */
const MIGRATION_LOCK = 7_301_994_001;

/** Brings the schema up to date; returns the version reached. */
export async function migratePostgres(client: pg.ClientBase, migrations: PgMigration[] = PG_MIGRATIONS): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const r = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_version');
    let current = r.rows[0]?.v ?? 0;
    for (const m of migrations) {
      if (m.version <= current) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_version (version, description) VALUES ($1, $2)', [m.version, m.description]);
      current = m.version;
    }
    await client.query('COMMIT');
    return current;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}
