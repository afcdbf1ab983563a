/**
 * A daemon on PostgreSQL whose database goes away at the worst moments: right
 * after a build (the verdict must wait for the store, not be thrown away), and in
 * the middle of publishing, after the sinks ran and before the commit (the same
 * attempt commits when the database is back and publishes nothing twice).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import type { JobRunner } from '../../src/daemon/runner.ts';
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

/** A webhook receiver; `onVerdict` runs before it answers. */
async function hooks(onVerdict: () => Promise<void>): Promise<{ url: string; verdicts: string[]; server: Server }> {
  const verdicts: string[] = [];
  const srv = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const e = JSON.parse(body) as { event: string; jobId: string };
      if (e.event === 'verdict') verdicts.push(e.jobId);
      void onVerdict().finally(() => res.end());
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/`, verdicts, server: srv };
}

async function run(o: { runner: JobRunner; onVerdict?: () => Promise<void> }): Promise<{ job: Job; hookVerdicts: string[]; auditVerdicts: number; warnings: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-pg-outage-'));
  const hook = await hooks(o.onVerdict ?? (async () => {}));
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push((JSON.parse(line) as { msg: string }).msg) });
  const ws = await daemonWorkspace(dir, { feeds: [], leaseSeconds: 30, webhook: { url: hook.url, retries: 0 } });
  const store = await PostgresStore.open({ url: await server.createDatabase() });
  const daemon = await Daemon.start({ loaded: loadConfig(ws.configPath), logger, store, runner: o.runner });
  try {
    const res = await fetch(`${daemon.url}/v1/attestations`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}` }, body: shellAttestation('o.tgz', 'true', 'o') });
    assert.equal(res.status, 201);
    const id = ((await res.json()) as { jobs: Job[] }).jobs[0]!.id;
    // The database is stopped by the runner or the webhook; bring it back once the daemon has hit the outage.
    await waitFor('the daemon retrying its store write', async () => warnings.includes('store unreachable; retrying'));
    await server.start();
    const job = await waitFor('the verdict', async () => {
      const j = await store.job(id);
      return j?.state === 'done' ? j : undefined;
    });
    const audit = await readFile(join(ws.dataDir, 'audit.jsonl'), 'utf8');
    const auditVerdicts = audit.split('\n').filter((l) => l.includes('"job-verdict"') && l.includes(id)).length;
    return { job, hookVerdicts: hook.verdicts, auditVerdicts, warnings };
  } finally {
    await daemon.stop();
    hook.server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('PostgreSQL down when a build finishes: the verdict waits for the database and is stored by the same attempt', async () => {
  const { job, hookVerdicts, auditVerdicts } = await run({
    runner: {
      run: async () => {
        await server.stop();
        return { outcome: 'reproduced' };
      },
    },
  });
  assert.equal(job.outcome, 'reproduced');
  assert.equal(job.attempt, 1, 'not rebuilt: the finished build was not thrown away');
  assert.deepEqual(hookVerdicts, [job.id]);
  assert.equal(auditVerdicts, 1);
});

test('PostgreSQL down while publishing (after the sinks, before the commit): committed when it is back, published once', async () => {
  let stopped = false;
  const { job, hookVerdicts, auditVerdicts } = await run({
    runner: { run: async () => ({ outcome: 'reproduced' }) },
    // The sinks run inside the completing transaction: cut the database under it.
    onVerdict: async () => {
      if (stopped) return;
      stopped = true;
      await server.stop();
    },
  });
  assert.equal(job.outcome, 'reproduced');
  assert.equal(job.attempt, 1);
  assert.deepEqual(hookVerdicts, [job.id], 'one webhook verdict');
  assert.equal(auditVerdicts, 1, 'one audit entry');
});
