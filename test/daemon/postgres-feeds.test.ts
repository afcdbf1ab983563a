/** Several daemons on one PostgreSQL: one elected feed leader, the others only build. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { silentLogger } from '../../src/log/logger.ts';
import { PostgresStore } from '../../src/store/postgres.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { daemonWorkspace, dropFile, shellAttestation, waitFor } from '../support/daemon.ts';

let server: TestPostgres;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.destroy();
});

test('three daemons on one PostgreSQL: one leads the feeds, each attestation is built once, the leader is replaced when it stops', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-pg-feeds-'));
  const url = await server.createDatabase();
  const ws = await daemonWorkspace(dir);
  // Point the config at the shared database: that is what turns the election on.
  const config = JSON.parse(await readFile(ws.configPath, 'utf8')) as Record<string, unknown>;
  await writeFile(ws.configPath, JSON.stringify({ ...config, store: { postgres: { url } } }));
  const builtBy = new Map<string, number>();
  const daemons: Daemon[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const store = await PostgresStore.open({ url });
      daemons.push(
        await Daemon.start({
          loaded: loadConfig(ws.configPath),
          logger: silentLogger,
          store,
          runner: {
            run: async (job) => {
              builtBy.set(job.id, i);
              await new Promise((r) => setTimeout(r, 50));
              return { outcome: 'reproduced' };
            },
          },
        }),
      );
    }
    await waitFor('a feed leader', async () => daemons.filter((d) => d.feedLeader).length === 1);
    for (let n = 0; n < 12; n++) await dropFile(ws.feedDir, `a${n}.json`, shellAttestation(`a${n}.txt`, `echo ${n}`, `${n}\n`));
    const check = await PostgresStore.open({ url });
    try {
      await waitFor('12 verdicts', async () => (await check.jobs({ state: "done" })).length === 12);
      assert.equal((await check.jobs()).length, 12, 'each attestation ingested once');
      const workers = await check.listWorkers({ staleMs: 30_000 });
      assert.equal(workers.length, 3, 'every daemon is registered');
      // The leader stops: another takes over the feeds and ingests what comes next.
      const leader = daemons.find((d) => d.feedLeader)!;
      await leader.stop();
      daemons.splice(daemons.indexOf(leader), 1);
      await waitFor('a new feed leader', async () => daemons.filter((d) => d.feedLeader).length === 1, 30_000);
      await dropFile(ws.feedDir, 'late.json', shellAttestation('late.txt', 'echo late', 'late\n'));
      await waitFor('the late verdict', async () => (await check.jobs({ state: "done" })).length === 13, 30_000);
      assert.equal((await check.jobs()).length, 13);
    } finally {
      await check.close();
    }
  } finally {
    for (const d of daemons) await d.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
