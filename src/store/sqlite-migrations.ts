import type { DatabaseSync } from 'node:sqlite';

/**
 * Schema of the SQLite store, one entry per version. Applied in order inside a
 * transaction; the version table says which already ran. Never edit a shipped
 * entry: add a new one.
 */
const MIGRATIONS: string[] = [
  // 1: jobs, attestations (content-addressed), attempts, feed cursors.
  `CREATE TABLE attestations (
     sha256 TEXT PRIMARY KEY,
     bytes BLOB NOT NULL,
     uri TEXT,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE jobs (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     attestation_sha256 TEXT NOT NULL REFERENCES attestations (sha256),
     subject_name TEXT NOT NULL,
     subject_sha256 TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'error')),
     attempt INTEGER NOT NULL DEFAULT 0,
     max_attempts INTEGER NOT NULL,
     outcome TEXT,
     result TEXT,
     error TEXT,
     published INTEGER NOT NULL DEFAULT 0,
     published_by TEXT,
     lease_owner TEXT,
     lease_expires_at INTEGER,
     requires_arch TEXT,
     requires_rebuilder TEXT,
     priority INTEGER NOT NULL DEFAULT 0,
     source TEXT,
     not_before INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     started_at INTEGER,
     finished_at INTEGER,
     updated_at INTEGER NOT NULL,
     UNIQUE (attestation_sha256, subject_sha256)
   );
   CREATE INDEX jobs_queue ON jobs (state, priority DESC, seq) WHERE state = 'queued';
   CREATE INDEX jobs_running ON jobs (lease_expires_at) WHERE state = 'running';
   CREATE INDEX jobs_subject ON jobs (subject_sha256);
   CREATE INDEX jobs_state ON jobs (state, seq);
   CREATE TABLE job_attempts (
     job_id TEXT NOT NULL REFERENCES jobs (id),
     attempt INTEGER NOT NULL,
     worker_id TEXT NOT NULL,
     started_at INTEGER NOT NULL,
     finished_at INTEGER,
     outcome TEXT,
     error TEXT,
     log TEXT,
     PRIMARY KEY (job_id, attempt)
   );
   CREATE TABLE feed_cursors (
     feed TEXT PRIMARY KEY,
     cursor TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );`,
  // 2: re-checks. A later re-check of a verdict is a new job for the same (attestation,
  // subject) pair, told apart by `generation` (0 = the first job). SQLite cannot change a
  // table's UNIQUE constraint in place: the table is rebuilt (foreign keys are off here).
  `CREATE TABLE jobs_v2 (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     attestation_sha256 TEXT NOT NULL REFERENCES attestations (sha256),
     subject_name TEXT NOT NULL,
     subject_sha256 TEXT NOT NULL,
     generation INTEGER NOT NULL DEFAULT 0,
     state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'error')),
     attempt INTEGER NOT NULL DEFAULT 0,
     max_attempts INTEGER NOT NULL,
     outcome TEXT,
     result TEXT,
     error TEXT,
     published INTEGER NOT NULL DEFAULT 0,
     published_by TEXT,
     lease_owner TEXT,
     lease_expires_at INTEGER,
     requires_arch TEXT,
     requires_rebuilder TEXT,
     priority INTEGER NOT NULL DEFAULT 0,
     source TEXT,
     not_before INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     started_at INTEGER,
     finished_at INTEGER,
     updated_at INTEGER NOT NULL,
     UNIQUE (attestation_sha256, subject_sha256, generation)
   );
   INSERT INTO jobs_v2 (seq, id, attestation_sha256, subject_name, subject_sha256, state, attempt, max_attempts, outcome, result,
                        error, published, published_by, lease_owner, lease_expires_at, requires_arch, requires_rebuilder,
                        priority, source, not_before, created_at, started_at, finished_at, updated_at)
     SELECT seq, id, attestation_sha256, subject_name, subject_sha256, state, attempt, max_attempts, outcome, result,
            error, published, published_by, lease_owner, lease_expires_at, requires_arch, requires_rebuilder,
            priority, source, not_before, created_at, started_at, finished_at, updated_at FROM jobs;
   DROP TABLE jobs;
   ALTER TABLE jobs_v2 RENAME TO jobs;
   CREATE INDEX jobs_queue ON jobs (state, priority DESC, seq) WHERE state = 'queued';
   CREATE INDEX jobs_running ON jobs (lease_expires_at) WHERE state = 'running';
   CREATE INDEX jobs_subject ON jobs (subject_sha256);
   CREATE INDEX jobs_state ON jobs (state, seq);`,
];

export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

/** Runs the missing migrations. Call with foreign keys off (table rebuilds); the caller turns them on after. */
export function migrateSqlite(db: DatabaseSync): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  db.exec('BEGIN IMMEDIATE');
  try {
    const row = db.prepare('SELECT max(version) AS v FROM schema_version').get() as { v: number | null } | undefined;
    let version = row?.v ?? 0;
    for (; version < MIGRATIONS.length; version++) {
      db.exec(MIGRATIONS[version]!);
      db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)').run(version + 1, Date.now());
    }
    const broken = db.prepare('PRAGMA foreign_key_check').all();
    if (broken.length > 0) throw new Error(`migration left ${broken.length} dangling references`);
    db.exec('COMMIT');
    return version;
  } catch (e) {
    db.exec('ROLLBACK');
    throw e;
  }
}
