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

test('sqlite: retry puts an error job back with fresh attempts', async () => {
  const s = await SqliteStore.open(':memory:');
  const { job } = await s.submit(submission(1));
  const a = (await s.claim('w', { leaseMs: 60_000 }))!;
  await s.fail(a.lease, { error: { code: 'BUILD_FAILED', message: 'x' } });
  assert.equal(await s.retry(job.id).then((j) => j?.state), 'queued');
  assert.equal(await s.retry(job.id), undefined, 'only error jobs are retried');
  assert.equal((await s.claim('w', { leaseMs: 60_000 }))?.lease.attempt, 2);
  await s.close();
});
