/**
 * The store contract as a reusable suite: every Store implementation runs it.
 *
 *   storeContract('sqlite', () => SqliteStore.open(':memory:'));
 *   storeContract('postgres', async () => PostgresStore.open({ url: await pg.createDatabase() }));
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isReprodError } from '../../src/errors.ts';
import type { MakeStore, Store, SubmitInput } from '../../src/store/types.ts';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

export function submission(i: number, subject = i): SubmitInput {
  const att = `attestation ${i}`;
  return {
    attestationSha256: sha(att),
    attestation: new TextEncoder().encode(att),
    subject: { name: `pkg-${subject}.tgz`, sha256: sha(`subject ${subject}`) },
  };
}

async function withStore(make: MakeStore, fn: (s: Store) => Promise<void>): Promise<void> {
  const store = await make();
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

export function storeContract(name: string, make: MakeStore): void {
  describe(`store contract: ${name}`, () => {
    test('migrations leave a schema version', () =>
      withStore(make, async (s) => {
        assert.ok((await s.schemaVersion()) >= 1);
      }));

    test('submit is idempotent on (attestation, subject) and stores the attestation bytes', () =>
      withStore(make, async (s) => {
        const a = await s.submit(submission(1));
        const b = await s.submit(submission(1));
        assert.equal(a.created, true);
        assert.equal(b.created, false);
        assert.equal(b.job.id, a.job.id);
        const other = await s.submit(submission(1, 2));
        assert.notEqual(other.job.id, a.job.id, 'another subject of the same attestation is another job');
        assert.deepEqual(Buffer.from((await s.attestation(a.job.attestationSha256))!).toString(), 'attestation 1');
        assert.equal((await s.countByState()).queued, 2);
      }));

    test('claim leases the oldest queued job once; complete publishes once and is fenced', () =>
      withStore(make, async (s) => {
        const { job } = await s.submit(submission(1));
        await s.submit(submission(2));
        const c = await s.claim('w1', { leaseMs: 60_000 });
        assert.equal(c?.job.id, job.id);
        assert.equal(c.job.state, 'running');
        assert.equal(c.lease.attempt, 1);
        const c2 = await s.claim('w2', { leaseMs: 60_000 });
        assert.notEqual(c2?.job.id, job.id);
        assert.equal(await s.claim('w3', { leaseMs: 60_000 }), undefined);
        let published = 0;
        const done = await s.complete(c.lease, { outcome: 'reproduced', result: { x: 1 }, log: 'ok', publish: async () => void published++ });
        assert.equal(done.state, 'done');
        assert.equal(done.outcome, 'reproduced');
        assert.equal(done.published, true);
        assert.deepEqual(done.result, { x: 1 });
        await assert.rejects(s.complete(c.lease, { outcome: 'reproduced', publish: async () => void published++ }), (e) => isReprodError(e, 'LEASE_LOST'));
        assert.equal(published, 1);
      }));

    test('an expired lease is reclaimed with the next attempt; the old holder is fenced out', () =>
      withStore(make, async (s) => {
        const { job } = await s.submit(submission(1));
        const a = (await s.claim('slow', { leaseMs: 100 }))!;
        await sleep(250);
        const b = await s.claim('fast', { leaseMs: 60_000 });
        assert.equal(b?.job.id, job.id);
        assert.equal(b.lease.attempt, 2);
        let published = 0;
        await assert.rejects(s.heartbeat(a.lease, 60_000), (e) => isReprodError(e, 'LEASE_LOST'));
        await assert.rejects(s.complete(a.lease, { outcome: 'reproduced', publish: async () => void published++ }), (e) => isReprodError(e, 'LEASE_LOST'));
        await assert.rejects(s.fail(a.lease, { error: { code: 'BUILD_FAILED', message: 'x' } }), (e) => isReprodError(e, 'LEASE_LOST'));
        assert.equal(published, 0);
        await s.complete(b.lease, { outcome: 'not-reproduced', publish: async () => void published++ });
        assert.equal(published, 1);
      }));

    test('heartbeats keep a lease', () =>
      withStore(make, async (s) => {
        await s.submit(submission(1));
        let lease = (await s.claim('w1', { leaseMs: 200 }))!.lease;
        for (let i = 0; i < 4; i++) {
          await sleep(100);
          lease = await s.heartbeat(lease, 200);
        }
        assert.equal(await s.claim('w2', { leaseMs: 200 }), undefined);
      }));

    test('a retryable failure requeues after a delay until attempts run out, then ends as error', () =>
      withStore(make, async (s) => {
        const { job } = await s.submit({ ...submission(1), maxAttempts: 2 });
        const a = (await s.claim('w', { leaseMs: 60_000 }))!;
        const f1 = await s.fail(a.lease, { error: { code: 'DOCKER_UNAVAILABLE', message: 'down', retryable: true }, retryAfterMs: 200, log: 'attempt 1 log' });
        assert.equal(f1.state, 'queued');
        assert.equal(await s.claim('w', { leaseMs: 60_000 }), undefined, 'not before the backoff');
        await sleep(300);
        const b = (await s.claim('w', { leaseMs: 60_000 }))!;
        assert.equal(b.job.id, job.id);
        assert.equal(b.lease.attempt, 2);
        const f2 = await s.fail(b.lease, { error: { code: 'DOCKER_UNAVAILABLE', message: 'down', retryable: true }, log: 'attempt 2 log' });
        assert.equal(f2.state, 'error');
        assert.equal(f2.error?.code, 'DOCKER_UNAVAILABLE');
        if (s.attempts) {
          const at = await s.attempts(job.id);
          assert.deepEqual(at.map((x) => [x.attempt, x.log]), [[1, 'attempt 1 log'], [2, 'attempt 2 log']]);
        }
      }));

    test('a non-retryable failure is final at once', () =>
      withStore(make, async (s) => {
        await s.submit(submission(1));
        const a = (await s.claim('w', { leaseMs: 60_000 }))!;
        const f = await s.fail(a.lease, { error: { code: 'BUILD_FAILED', message: 'make: error' } });
        assert.equal(f.state, 'error');
        assert.equal(f.attempt, 1);
      }));

    test('release hands a job back without spending an attempt', () =>
      withStore(make, async (s) => {
        await s.submit(submission(1));
        const a = (await s.claim('w', { leaseMs: 60_000 }))!;
        await s.release(a.lease);
        const b = (await s.claim('w', { leaseMs: 60_000 }))!;
        assert.equal(b.lease.attempt, 1);
      }));

    test('listing by state and subject', () =>
      withStore(make, async (s) => {
        const one = await s.submit(submission(1));
        await s.submit(submission(2));
        const c = (await s.claim('w', { leaseMs: 60_000 }))!;
        await s.complete(c.lease, { outcome: 'reproduced' });
        assert.deepEqual((await s.jobs({ state: 'done' })).map((j) => j.id), [one.job.id]);
        assert.deepEqual((await s.jobs({ subjectSha256: one.job.subject.sha256 })).map((j) => j.id), [one.job.id]);
        assert.equal((await s.jobs()).length, 2);
        assert.equal(await s.job('no-such-job'), undefined);
      }));

    test('retry puts an error job back with fresh attempts', () =>
      withStore(make, async (s) => {
        const { job } = await s.submit(submission(1));
        const a = (await s.claim('w', { leaseMs: 60_000 }))!;
        await s.fail(a.lease, { error: { code: 'BUILD_FAILED', message: 'x' } });
        assert.equal(await s.retry!(job.id).then((j) => j?.state), 'queued');
        assert.equal(await s.retry!(job.id), undefined, 'only error jobs are retried');
        assert.equal((await s.claim('w', { leaseMs: 60_000 }))?.lease.attempt, 2);
      }));

    test('a re-check is a new scheduled job for the same pair; the first verdict stays', () =>
      withStore(make, async (s) => {
        const { job } = await s.submit(submission(1));
        const a = (await s.claim('w', { leaseMs: 60_000 }))!;
        assert.equal(await s.scheduleRecheck!(job.id, 0), undefined, 'not while the job runs');
        await s.complete(a.lease, { outcome: 'not-reproduced' });
        const re = (await s.scheduleRecheck!(job.id, 300))!;
        assert.notEqual(re.id, job.id);
        assert.equal(re.state, 'queued');
        assert.equal(re.source, `recheck:${job.id}`);
        assert.equal(await s.scheduleRecheck!(job.id, 0), undefined, 'one open re-check at a time');
        assert.equal((await s.submit(submission(1))).job.id, re.id, 'submitting the pair again returns the newest job');
        assert.equal(await s.claim('w', { leaseMs: 60_000 }), undefined, 'scheduled for later');
        await sleep(350);
        const b = (await s.claim('w', { leaseMs: 60_000 }))!;
        assert.equal(b.job.id, re.id);
        await s.complete(b.lease, { outcome: 'reproduced' });
        assert.equal((await s.job(job.id))?.outcome, 'not-reproduced', 'the first verdict is final');
        assert.deepEqual((await s.jobs({ subjectSha256: job.subject.sha256 })).map((j) => j.outcome), ['reproduced', 'not-reproduced']);
      }));

    test('feed cursors persist and overwrite', () =>
      withStore(make, async (s) => {
        assert.equal(await s.getCursor('dir:a'), undefined);
        await s.setCursor('dir:a', '1');
        await s.setCursor('dir:a', '2');
        assert.equal(await s.getCursor('dir:a'), '2');
      }));
  });
}
