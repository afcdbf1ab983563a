import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { advisoryKey, Election } from '../../src/daemon/election.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';

let server: TestPostgres;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.destroy();
});

async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('one of three daemons leads; when its session dies another takes over', async () => {
  const url = await server.createDatabase();
  const events: string[] = [];
  const elections = [0, 1, 2].map(
    (i) =>
      new Election({
        url,
        intervalMs: 100,
        onElected: () => events.push(`up${i}`),
        onDemoted: () => events.push(`down${i}`),
      }),
  );
  for (const e of elections) await e.start();
  await until(() => elections.some((e) => e.isLeader), 'a leader');
  await sleep(300);
  assert.equal(elections.filter((e) => e.isLeader).length, 1, 'exactly one leader');
  const first = elections.findIndex((e) => e.isLeader);

  // Kill the leader's session from outside, as if its machine vanished.
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(
    `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted
       AND ((classid::bigint << 32) | objid::bigint) = $1::bigint`,
    [BigInt.asUintN(64, advisoryKey('feeds')).toString()],
  );
  await admin.end();
  await until(() => events.includes(`down${first}`), 'the old leader to step down');
  await until(() => elections.filter((e) => e.isLeader).length === 1, 'a new leader');
  await sleep(300);
  assert.equal(elections.filter((e) => e.isLeader).length, 1, 'still exactly one leader');

  // A clean stop hands leadership over too.
  const leader = elections.find((e) => e.isLeader)!;
  await leader.stop();
  await until(() => elections.filter((e) => e !== leader && e.isLeader).length === 1, 'a leader after stop');
  for (const e of elections) await e.stop();
  assert.equal(elections.filter((e) => e.isLeader).length, 0);
});

test('different names are independent locks', async () => {
  const url = await server.createDatabase();
  const a = new Election({ url, name: 'feeds', intervalMs: 100 });
  const b = new Election({ url, name: 'other', intervalMs: 100 });
  await a.start();
  await b.start();
  assert.ok(a.isLeader && b.isLeader);
  await a.stop();
  await b.stop();
});

test('survives a PostgreSQL restart and is re-elected', async () => {
  const url = await server.createDatabase();
  const e = new Election({ url, intervalMs: 100 });
  await e.start();
  assert.ok(e.isLeader);
  await server.stop();
  await until(() => !e.isLeader, 'step-down on outage');
  await server.start();
  await until(() => e.isLeader, 're-election after restart');
  await e.stop();
});
