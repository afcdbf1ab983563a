/** The daemon on the scale-out store: same API and queue semantics over PostgreSQL. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { ReprodError } from '../../src/errors.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { silentLogger } from '../../src/log/logger.ts';
import { PostgresStore } from '../../src/store/postgres.ts';
import type { Job } from '../../src/store/types.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { daemonWorkspace, shellAttestation, TEST_TOKEN, waitFor } from '../support/daemon.ts';

let server: TestPostgres;
before(async () => {
  server = await startPostgres();
});
after(async () => {
  await server?.destroy();
});

test('daemon over PostgreSQL: submit, claim under a per-process worker id, verdict, history', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-daemon-pg-'));
  const ws = await daemonWorkspace(dir, { feeds: [] });
  const store = await PostgresStore.open({ url: await server.createDatabase() });
  let attempts = 0;
  const daemon = await Daemon.start({
    loaded: loadConfig(ws.configPath),
    logger: silentLogger,
    store,
    runner: {
      run: async () => {
        attempts++;
        if (attempts === 1) throw new ReprodError('DOCKER_UNAVAILABLE', 'engine restarting', { retryable: true });
        return { outcome: 'reproduced' };
      },
    },
  });
  try {
    const res = await fetch(`${daemon.url}/v1/attestations`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}` }, body: shellAttestation('pg.tgz', 'true', 'pg') });
    assert.equal(res.status, 201);
    const { jobs } = (await res.json()) as { jobs: Job[] };
    const done = await waitFor('the verdict', async () => {
      const j = await store.job(jobs[0]!.id);
      return j?.state === 'done' ? j : undefined;
    });
    assert.equal(done.outcome, 'reproduced');
    assert.equal(done.attempt, 2, 'the transient error was retried');
    assert.notEqual(done.publishedBy, 'local', 'a shared store gets a per-process worker id');
    const artifact = (await (await fetch(`${daemon.url}/v1/artifacts/${done.subject.sha256}`)).json()) as { latest: { outcome: string } };
    assert.equal(artifact.latest.outcome, 'reproduced');
  } finally {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
