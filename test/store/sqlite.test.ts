import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteStore } from '../../src/store/sqlite.ts';
import { storeContract, submission } from './contract.ts';

storeContract('sqlite', () => SqliteStore.open(':memory:'));

test('sqlite: a second open of the same file sees committed jobs and leases (restart)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-sqlite-'));
  try {
    const path = join(dir, 'reprod.db');
    const a = await SqliteStore.open(path);
    const { job } = await a.submit(submission(1));
    await a.claim('node-1', { leaseMs: 3_600_000 });
    await a.close();
    const b = await SqliteStore.open(path);
    assert.equal((await b.job(job.id))?.state, 'running');
    assert.equal(await b.expireLeasesOf('node-1'), 1, 'a restarted node reclaims its own leases at once');
    const c = await b.claim('node-1', { leaseMs: 60_000 });
    assert.equal(c?.lease.attempt, 2);
    assert.deepEqual((await b.attempts(job.id)).map((x) => x.error?.code), ['LEASE_LOST', undefined]);
    await b.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('sqlite: a version-1 database is migrated in place, jobs and attempts kept', async () => {
  const { DatabaseSync } = await import('node:sqlite');
  const dir = await mkdtemp(join(tmpdir(), 'reprod-sqlite-'));
  try {
    const path = join(dir, 'old.db');
    const s = await SqliteStore.open(path);
    const { job } = await s.submit(submission(1));
    const a = (await s.claim('w', { leaseMs: 60_000 }))!;
    await s.complete(a.lease, { outcome: 'reproduced', log: 'kept' });
    await s.close();
    // Roll the file back to a version-1 shape: a table without `generation`.
    const db = new DatabaseSync(path);
    db.exec(`PRAGMA foreign_keys = OFF; CREATE TABLE j1 AS SELECT seq, id, attestation_sha256, subject_name, subject_sha256, state, attempt, max_attempts, outcome, result, error, published, published_by, lease_owner, lease_expires_at, requires_arch, requires_rebuilder, priority, source, not_before, created_at, started_at, finished_at, updated_at FROM jobs; DROP TABLE jobs; ALTER TABLE j1 RENAME TO jobs; DELETE FROM schema_version WHERE version > 1;`);
    db.close();
    const again = await SqliteStore.open(path);
    assert.equal(await again.schemaVersion(), 2);
    assert.equal((await again.job(job.id))?.outcome, 'reproduced');
    assert.equal((await again.attempts(job.id))[0]?.log, 'kept');
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
