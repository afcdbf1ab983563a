/**
 * PostgreSQL-only checks beside the store contract (test/store/contract.ts, which
 * also covers retry and re-checks): attempt history (an expired lease closes its
 * attempt as LEASE_LOST), concurrent re-checks, and the migration that added
 * generations.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { PG_MIGRATIONS, migratePostgres } from '../../src/store/postgres-migrations.ts';
import { PostgresStore } from '../../src/store/postgres.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { submission } from './contract.ts';

let server: TestPostgres;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.destroy();
});

async function withStore(fn: (s: PostgresStore) => Promise<void>): Promise<void> {
  const s = await PostgresStore.open({ url: await server.createDatabase() });
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

test('postgres: an expired lease closes its attempt as LEASE_LOST; the next attempt is listed after it', () =>
  withStore(async (s) => {
    const { job } = await s.submit(submission(1));
    await s.claim('dead', { leaseMs: 50 });
    await sleep(100);
    const b = (await s.claim('alive', { leaseMs: 60_000 }))!;
    assert.equal(b.lease.attempt, 2);
    await s.complete(b.lease, { outcome: 'reproduced', log: 'second' });
    const at = await s.attempts(job.id);
    assert.deepEqual(
      at.map((a) => [a.attempt, a.workerId, a.outcome, a.error?.code, a.log]),
      [
        [1, 'dead', 'error', 'LEASE_LOST', undefined],
        [2, 'alive', 'reproduced', undefined, 'second'],
      ],
    );
    assert.ok(at.every((a) => a.finishedAt));
  }));

test('postgres: two re-checks of the same job scheduled at once make one job', () =>
  withStore(async (s) => {
    const { job } = await s.submit(submission(1));
    const a = (await s.claim('w', { leaseMs: 60_000 }))!;
    await s.complete(a.lease, { outcome: 'not-reproduced' });
    const both = await Promise.all([s.scheduleRecheck(job.id, 0), s.scheduleRecheck(job.id, 0)]);
    assert.equal(both.filter(Boolean).length, 1);
    assert.equal((await s.jobs()).length, 2);
  }));

test('postgres: a version-2 database is migrated to generations, its jobs kept', async () => {
  const url = await server.createDatabase();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    assert.equal(await migratePostgres(c, PG_MIGRATIONS.filter((m) => m.version <= 2)), 2);
    await c.query("INSERT INTO attestations (sha256, bytes) VALUES ('aa', 'x')");
    await c.query("INSERT INTO jobs (id, attestation_sha256, subject_name, subject_sha256, state, max_attempts) VALUES ('old', 'aa', 'old.tgz', 'bb', 'done', 3)");
  } finally {
    await c.end();
  }
  const s = await PostgresStore.open({ url });
  try {
    assert.equal(await s.schemaVersion(), PG_MIGRATIONS.at(-1)!.version);
    assert.equal((await s.job('old'))?.state, 'done', 'the old job is kept');
    assert.ok(await s.scheduleRecheck('old', 0), 'and can be re-checked');
    await s.submit(submission(1));
    assert.equal((await s.submit(submission(1))).created, false, 'still one job per pair');
  } finally {
    await s.close();
  }
});
