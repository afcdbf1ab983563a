/**
 * Scale-out with real `reprod daemon` processes (the daemon with real container
 * builds) sharing one throw-away PostgreSQL: N attestations end as N verdicts,
 * each published once, with two and with three daemons; kill -9 of a daemon
 * mid-build hands its job to another, which publishes it once; PostgreSQL stopped
 * for a few seconds while the daemons run: they retry, recover and lose no job.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PostgresStore } from '../../src/store/postgres.ts';
import { minbaseImage } from '../support/daemon-image.ts';
import { dropFile, shellAttestation, waitFor } from '../support/daemon.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { checkPublishedOnce, containersOf, removeContainersOf, sharedDirs, startDaemon, webhookCollector, type DaemonProcess } from './daemons.ts';

let server: TestPostgres;
let image: string;
let hook: Awaited<ReturnType<typeof webhookCollector>>;
const started: DaemonProcess[] = [];
const dirs: string[] = [];

before(async () => {
  [server, image, hook] = await Promise.all([startPostgres(), minbaseImage(), webhookCollector()]);
});
after(async () => {
  for (const d of started) {
    if (d.proc.exitCode === null && d.proc.signalCode === null) d.proc.kill('SIGKILL');
    await removeContainersOf(d, image).catch(() => {});
  }
  await hook?.close();
  await server?.destroy();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

interface Cluster {
  dir: string;
  feedDir: string;
  store: PostgresStore;
  daemons: DaemonProcess[];
}

async function cluster(n: number, daemon: Record<string, unknown> = {}): Promise<Cluster> {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-daemons-'));
  dirs.push(dir);
  const pgUrl = await server.createDatabase();
  // Started all at once on an empty database: one migrates, the others wait for it.
  const daemons = await Promise.all(Array.from({ length: n }, (_, i) => startDaemon(`d${i}`, { dir, pgUrl, image, hookUrl: hook.url, daemon })));
  started.push(...daemons);
  const store = await PostgresStore.open({ url: pgUrl, poolSize: 2 });
  return { dir, feedDir: sharedDirs(dir).feedDir, store, daemons };
}

/** Drops `count` attestations whose build runs `sleep <secs>` and prints a line. */
async function drop(c: Cluster, prefix: string, count: number, secs = 0.3): Promise<void> {
  for (let i = 0; i < count; i++) {
    const out = `${prefix}-${i}`;
    await dropFile(c.feedDir, `${out}.json`, shellAttestation(`${out}.txt`, `sleep ${secs}; echo ${out}`, `${out}\n`));
  }
}

const doneCount = async (store: PostgresStore): Promise<number> => (await store.countByState()).done;

async function stopAll(c: Cluster): Promise<void> {
  const live = c.daemons.filter((d) => d.proc.exitCode === null && d.proc.signalCode === null);
  for (const d of live) d.proc.kill('SIGTERM');
  assert.deepEqual(await Promise.all(live.map((d) => d.exit)), live.map(() => 0), 'SIGTERM: each daemon exits 0');
  await c.store.close();
}

for (const n of [2, 3]) {
  test(`${n} daemon processes on one PostgreSQL: ${2 * n} attestations end as ${2 * n} verdicts, each published once`, async () => {
    const c = await cluster(n);
    const total = 2 * n;
    await drop(c, `n${n}`, total);
    await waitFor(`${total} verdicts`, async () => (await doneCount(c.store)) === total, 90_000);
    const jobs = await checkPublishedOnce({ dir: c.dir, store: c.store, daemons: c.daemons, events: hook.events, expectedJobs: total });
    assert.deepEqual(jobs.map((j) => j.attempt), jobs.map(() => 1), 'no job built twice');
    const builders = new Set(jobs.map((j) => j.publishedBy));
    assert.equal(builders.size, n, `every daemon built jobs: ${[...builders].join(', ')}`);
    await stopAll(c);
  });
}

test('kill -9 of a daemon mid-build: another daemon rebuilds its job and publishes it once', async () => {
  const c = await cluster(2, { leaseSeconds: 3, heartbeatSeconds: 1 });
  await dropFile(c.feedDir, 'slow.json', shellAttestation('slow.txt', 'sleep 3; echo slow', 'slow\n'));
  const running = await waitFor('the slow build running', async () => (await c.store.jobs({ state: 'running' }))[0]);
  const victim = c.daemons.find((d) => d.name === running.leaseOwner)!;
  const survivor = c.daemons.find((d) => d !== victim)!;
  await waitFor('the victim\'s build container', async () => (await containersOf(victim, image)).length > 0);
  victim.proc.kill('SIGKILL');
  await victim.exit;
  // More work after the crash: the survivor leads intake now and builds everything.
  await drop(c, 'after', 2);
  await waitFor('3 verdicts', async () => (await doneCount(c.store)) === 3, 60_000);

  const jobs = await checkPublishedOnce({ dir: c.dir, store: c.store, daemons: c.daemons, events: hook.events, expectedJobs: 3 });
  const slow = jobs.find((j) => j.id === running.id)!;
  assert.equal(slow.publishedBy, survivor.name, 'the survivor published the killed daemon\'s job');
  assert.equal(slow.attempt, 2, 'the killed attempt counted; the second one published');
  const attempts = (await c.store.attempts(slow.id)).map((a) => [a.attempt, a.workerId, a.outcome, a.error?.code]);
  assert.deepEqual(attempts, [[1, victim.name, 'error', 'LEASE_LOST'], [2, survivor.name, 'reproduced', undefined]], 'the killed attempt ended when its lease expired');
  await removeContainersOf(victim, image);
  await stopAll(c);
});

test('PostgreSQL stopped for a few seconds while three daemons build: they retry, recover, and lose no job', async () => {
  const c = await cluster(3);
  await drop(c, 'before', 9, 1);
  // Stop mid-stream: some verdicts in, builds running, the rest queued.
  await waitFor('builds under way', async () => {
    const n = await c.store.countByState();
    return n.done >= 2 && n.running >= 2;
  });
  await server.stop();
  // The outage itself: builds finish meanwhile and new attestations arrive.
  await drop(c, 'during', 2);
  await sleep(4000);
  await server.start();
  await waitFor('11 verdicts', async () => (await doneCount(c.store)) === 11, 90_000);

  await checkPublishedOnce({ dir: c.dir, store: c.store, daemons: c.daemons, events: hook.events, expectedJobs: 11 });
  assert.ok(c.daemons.every((d) => d.proc.exitCode === null), 'every daemon survived the outage');
  const saw = c.daemons.flatMap((d) => d.logs.filter((l) => /claim failed|store unreachable/.test(l.msg)));
  assert.ok(saw.length > 0, 'the daemons saw the outage and retried');
  await stopAll(c);
});
