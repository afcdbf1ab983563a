/**
 * What only the PostgreSQL store must guarantee beyond the shared store contract:
 * concurrent claimers never share a job (SKIP LOCKED), fencing by lease/attempt,
 * label-matched claiming, the worker registry, and recovery after an outage.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isReprodError } from '../../src/errors.ts';
import { PG_MIGRATIONS } from '../../src/store/postgres-migrations.ts';
import { PostgresStore } from '../../src/store/postgres.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';

let server: TestPostgres;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.destroy();
});

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

async function freshStore(): Promise<PostgresStore> {
  return PostgresStore.open({ url: await server.createDatabase() });
}

function submission(i: number, requires?: { arch?: string; rebuilder?: string }) {
  const att = new TextEncoder().encode(`attestation ${i}`);
  return {
    attestationSha256: sha(`attestation ${i}`),
    attestation: att,
    subject: { name: `pkg-${i}.tgz`, sha256: sha(`subject ${i}`) },
    ...(requires ? { requires } : {}),
  };
}

test('migrations are versioned and safe when several daemons start at once', async () => {
  const url = await server.createDatabase();
  const stores = await Promise.all([1, 2, 3, 4].map(() => PostgresStore.open({ url })));
  for (const s of stores) assert.equal(await s.schemaVersion(), PG_MIGRATIONS.at(-1)!.version);
  await Promise.all(stores.map((s) => s.close()));
});

test('eight concurrent claimers on separate pools never get the same job', async () => {
  const url = await server.createDatabase();
  const first = await PostgresStore.open({ url });
  for (let i = 0; i < 200; i++) await first.submit(submission(i));
  const stores = [first, ...(await Promise.all([1, 2, 3].map(() => PostgresStore.open({ url }))))];
  const claimed: string[] = [];
  await Promise.all(
    [0, 1, 2, 3, 4, 5, 6, 7].map(async (w) => {
      const store = stores[w % stores.length]!;
      for (;;) {
        const c = await store.claim(`w${w}`, { leaseMs: 60_000 });
        if (!c) return;
        claimed.push(c.job.id);
        await store.complete(c.lease, { outcome: 'reproduced' });
      }
    }),
  );
  assert.equal(claimed.length, 200);
  assert.equal(new Set(claimed).size, 200, 'no job claimed twice');
  const counts = await first.countByState();
  assert.equal(counts.done, 200);
  await Promise.all(stores.map((s) => s.close()));
});

test('a worker whose lease expired is fenced out; the next attempt publishes once', async () => {
  const store = await freshStore();
  const { job } = await store.submit(submission(1));
  const a = await store.claim('slow', { leaseMs: 150 });
  assert.equal(a?.job.id, job.id);
  assert.equal(a.lease.attempt, 1);
  await sleep(300);
  const b = await store.claim('fast', { leaseMs: 60_000 });
  assert.equal(b?.job.id, job.id, 'expired lease is reclaimed');
  assert.equal(b.lease.attempt, 2);

  let published = 0;
  const publish = async (): Promise<void> => {
    published++;
  };
  await assert.rejects(store.heartbeat(a.lease, 60_000), (e) => isReprodError(e, 'LEASE_LOST'));
  await assert.rejects(store.complete(a.lease, { outcome: 'reproduced', publish }), (e) => isReprodError(e, 'LEASE_LOST'));
  await assert.rejects(store.fail(a.lease, { error: { code: 'BUILD_FAILED', message: 'x' } }), (e) => isReprodError(e, 'LEASE_LOST'));
  assert.equal(published, 0, 'a fenced-out worker never reaches publish');

  const done = await store.complete(b.lease, { outcome: 'not-reproduced', publish });
  assert.equal(published, 1);
  assert.equal(done.state, 'done');
  assert.equal(done.outcome, 'not-reproduced');
  assert.equal(done.publishedBy, 'fast');
  await assert.rejects(store.complete(b.lease, { outcome: 'reproduced', publish }), (e) => isReprodError(e, 'LEASE_LOST'));
  assert.equal(published, 1, 'completing twice publishes once');
  await store.close();
});

test('a lease kept alive by heartbeats is not reclaimed', async () => {
  const store = await freshStore();
  await store.submit(submission(1));
  // Beats at 2/5 of the lease, past three times its length: slack for a loaded machine.
  const a = (await store.claim('w1', { leaseMs: 1000 }))!;
  let lease = a.lease;
  for (let i = 0; i < 8; i++) {
    await sleep(400);
    lease = await store.heartbeat(lease, 1000);
  }
  assert.equal(await store.claim('w2', { leaseMs: 1000 }), undefined);
  await store.complete(lease, { outcome: 'reproduced' });
  await store.close();
});

test('jobs go only to workers whose labels can build them', async () => {
  const store = await freshStore();
  const arm = await store.submit(submission(1, { arch: 'arm64', rebuilder: 'debian' }));
  const npm = await store.submit(submission(2, { arch: 'amd64', rebuilder: 'npm' }));
  const any = await store.submit(submission(3));
  const amd64Container = { arch: ['amd64'], rebuilders: ['container'] };
  const c1 = await store.claim('x86-container', { leaseMs: 60_000, labels: amd64Container });
  assert.equal(c1?.job.id, any.job.id, 'an unlabelled job goes to anyone');
  assert.equal(await store.claim('x86-container', { leaseMs: 60_000, labels: amd64Container }), undefined);
  const c2 = await store.claim('x86-npm', { leaseMs: 60_000, labels: { arch: ['amd64'], rebuilders: ['npm', 'container'] } });
  assert.equal(c2?.job.id, npm.job.id);
  const c3 = await store.claim('arm', { leaseMs: 60_000, labels: { arch: ['arm64'] } });
  assert.equal(c3?.job.id, arm.job.id, 'a worker with no rebuilder list serves every rebuilder');
  await store.close();
});

test('the worker registry lists live workers with their leases', async () => {
  const store = await freshStore();
  await store.submit(submission(1));
  await store.registerWorker({ id: 'a', hostname: 'h1', pid: 10, labels: { arch: ['amd64'] } });
  await store.registerWorker({ id: 'b', hostname: 'h2', pid: 11, labels: {} });
  const c = (await store.claim('a', { leaseMs: 60_000 }))!;
  await store.touchWorker('a', true);
  await store.stopWorker('b');
  const live = await store.listWorkers({ staleMs: 60_000 });
  assert.deepEqual(live.map((w) => w.id), ['a']);
  assert.equal(live[0]!.leader, true);
  assert.deepEqual(live[0]!.leases.map((l) => [l.jobId, l.attempt]), [[c.job.id, 1]]);
  const all = await store.listWorkers({ staleMs: 60_000, all: true });
  assert.deepEqual(all.map((w) => [w.id, w.live]), [['a', true], ['b', false]]);
  await store.close();
});

test('an outage gives retryable STORE_ERRORs, and the same store works once PostgreSQL is back', async () => {
  const store = await freshStore();
  await store.submit(submission(1));
  await server.stop();
  try {
    await assert.rejects(store.claim('w', { leaseMs: 60_000 }), (e) => isReprodError(e, 'STORE_ERROR') && e.retryable);
  } finally {
    await server.start();
  }
  const c = await store.claim('w', { leaseMs: 60_000 });
  assert.ok(c, 'claims again after the restart');
  await store.complete(c.lease, { outcome: 'reproduced' });
  await store.close();
});
