/**
 * The daemon end to end, in process, with real containers: feed folder → queue →
 * container build → verdict published once; idempotent intake; retry of a
 * transient Docker error; a final build failure; the regression webhook event.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { silentLogger } from '../../src/log/logger.ts';
import { checkAuditText } from '../../src/publish/audit.ts';
import type { Job } from '../../src/store/types.ts';
import { minbaseImage } from '../support/daemon-image.ts';
import { ContainerRunner, daemonWorkspace, dropFile, sha256, shellAttestation, TEST_TOKEN, waitFor } from '../support/daemon.ts';

let image: string;
let hooks: Server;
const events: { event: string; jobId: string; outcome: string; key: string }[] = [];
let hookUrl: string;

before(async () => {
  image = await minbaseImage();
  hooks = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const b = JSON.parse(body) as { event: string; jobId: string; outcome: string };
      events.push({ event: b.event, jobId: b.jobId, outcome: b.outcome, key: String(req.headers['idempotency-key']) });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook`;
});
after(() => hooks.close());

async function start(dir: string, runnerOpts: { brokenSocketAttempts?: number } = {}, daemon: Record<string, unknown> = {}) {
  const ws = await daemonWorkspace(dir, { webhook: { url: hookUrl, retries: 2 }, ...daemon });
  const runner = new ContainerRunner({ image, stagingDir: join(ws.dataDir, 'staging'), ...runnerOpts });
  const d = await Daemon.start({ loaded: loadConfig(ws.configPath), logger: silentLogger, runner });
  return { ...ws, runner, daemon: d };
}

async function api<T>(d: Daemon, path: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const res = await fetch(`${d.url}${path}`, init);
  return { status: res.status, body: (await res.json()) as T };
}

const finished = (d: Daemon, id: string) => waitFor(`job ${id} to finish`, async () => {
  const j = await d.store.job(id);
  return j && (j.state === 'done' || j.state === 'error') ? j : undefined;
});

test('files dropped in the feed folder end as verdicts, published once per subject', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-daemon-'));
  const { daemon, feedDir, dataDir } = await start(dir);
  try {
    await dropFile(feedDir, 'good.json', shellAttestation('good.txt', 'echo hello', 'hello\n'));
    await dropFile(feedDir, 'bad.json', shellAttestation('bad.txt', 'date +%N', 'something else\n'));
    const jobs = await waitFor('two jobs', async () => {
      const all = await daemon.store.jobs();
      return all.length === 2 && all.every((j) => j.state === 'done') ? all : undefined;
    });
    const by = Object.fromEntries(jobs.map((j) => [j.subject.name, j])) as Record<string, Job>;
    assert.equal(by['good.txt']!.outcome, 'reproduced');
    assert.equal(by['bad.txt']!.outcome, 'not-reproduced');
    assert.equal(by['good.txt']!.published, true);

    const out = await readdir(join(dataDir, 'out'));
    assert.deepEqual(out.sort(), [sha256('hello\n'), sha256('something else\n')].sort());
    const files = await readdir(join(dataDir, 'out', sha256('something else\n')));
    assert.deepEqual(files.sort(), ['rebuild.sigstore.json', 'report.html', 'report.json', 'verdict.json', 'vsa.sigstore.json']);

    // The same attestation again, by file and by API: no new job.
    await dropFile(feedDir, 'good-again.json', shellAttestation('good.txt', 'echo hello', 'hello\n'));
    const again = await api<{ created: number; jobs: Job[] }>(daemon, '/v1/attestations', {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
      body: shellAttestation('good.txt', 'echo hello', 'hello\n'),
    });
    assert.equal(again.status, 200);
    assert.equal(again.body.created, 0);
    assert.equal(again.body.jobs[0]!.id, by['good.txt']!.id);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await daemon.store.jobs()).length, 2);

    const artifact = await api<{ latest: { outcome: string; reports: string[] }; history: unknown[] }>(daemon, `/v1/artifacts/${sha256('something else\n')}`);
    assert.equal(artifact.body.latest.outcome, 'not-reproduced');
    assert.deepEqual(artifact.body.latest.reports, [`/v1/reports/${by['bad.txt']!.id}.json`, `/v1/reports/${by['bad.txt']!.id}.html`]);
    const report = await fetch(`${daemon.url}/v1/reports/${by['bad.txt']!.id}.html`);
    assert.equal(report.status, 200);
    assert.match(await report.text(), /Diff report: bad\.txt/);
    const atts = await api<{ vsa: { outcome: string } }>(daemon, `/v1/artifacts/${sha256('hello\n')}/attestations`);
    assert.equal(atts.body.vsa.outcome, 'reproduced');

    const detail = await api<{ job: Job; attempts: { attempt: number; log: string }[]; plan: unknown }>(daemon, `/v1/jobs/${by['good.txt']!.id}`);
    assert.deepEqual(detail.body.plan, { command: 'echo hello' });
    assert.equal(detail.body.attempts.length, 1);
    assert.match(detail.body.attempts[0]!.log, /outcome reproduced/);

    const audit = await readFile(join(dataDir, 'audit.jsonl'), 'utf8');
    assert.equal(checkAuditText(audit).status, 'ok');
    const verdicts = audit.trim().split('\n').map((l) => JSON.parse(l) as { type: string; jobId: string });
    assert.equal(verdicts.filter((v) => v.type === 'job-verdict').length, 2);
    const mine = events.filter((e) => e.jobId === by['good.txt']!.id || e.jobId === by['bad.txt']!.id);
    assert.deepEqual(mine.map((e) => e.event).sort(), ['verdict', 'verdict']);

    const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
    assert.match(metrics, /^reprod_jobs\{state="done"\} 2$/m);
    assert.match(metrics, /^reprod_verdicts_total\{outcome="not-reproduced"\} 1$/m);
    assert.match(metrics, /^reprod_build_duration_seconds_count 2$/m);
  } finally {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a transient Docker error is retried with backoff; every attempt keeps its log', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-daemon-'));
  const { daemon, runner } = await start(dir, { brokenSocketAttempts: 1 });
  try {
    const res = await api<{ jobs: Job[] }>(daemon, '/v1/attestations', {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
      body: shellAttestation('retry.txt', 'echo retry', 'retry\n'),
    });
    assert.equal(res.status, 201);
    const job = await finished(daemon, res.body.jobs[0]!.id);
    assert.equal(job.outcome, 'reproduced');
    assert.equal(job.attempt, 2);
    assert.deepEqual(runner.attempts.map((a) => a.attempt), [1, 2]);
    const attempts = await daemon.store.attempts!(job.id);
    assert.equal(attempts[0]!.error?.code, 'DOCKER_UNAVAILABLE');
    assert.match(attempts[0]!.log ?? '', /retrying in \d+ ms/);
    assert.equal(attempts[1]!.outcome, 'reproduced');
    assert.match(await (await fetch(`${daemon.url}/metrics`)).text(), /^reprod_retries_total\{code="DOCKER_UNAVAILABLE"\} 1$/m);
  } finally {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a job that keeps failing ends as error with its code; a failed build is not retried; retry endpoint requeues', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-daemon-'));
  const { daemon, runner } = await start(dir, { brokenSocketAttempts: 99 }, { maxAttempts: 2 });
  try {
    const auth = { authorization: `Bearer ${TEST_TOKEN}` };
    const down = await api<{ jobs: Job[] }>(daemon, '/v1/attestations', { method: 'POST', headers: auth, body: shellAttestation('down.txt', 'echo x', 'x\n') });
    const job = await finished(daemon, down.body.jobs[0]!.id);
    assert.equal(job.state, 'error');
    assert.equal(job.error?.code, 'DOCKER_UNAVAILABLE');
    assert.equal(job.attempt, 2);
    assert.equal((await daemon.store.attempts!(job.id)).length, 2);

    const retried = await api<{ job: Job }>(daemon, `/v1/jobs/${job.id}/retry`, { method: 'POST', headers: auth });
    assert.equal(retried.status, 202);
    assert.equal(retried.body.job.state, 'queued');
    const again = await finished(daemon, job.id);
    assert.ok(again.attempt > 2, 'the retry ran new attempts');
    assert.equal(again.state, 'error');
    assert.ok(runner.attempts.length >= 3);
  } finally {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const dir2 = await mkdtemp(join(tmpdir(), 'reprod-daemon-'));
  const second = await start(dir2);
  try {
    const res = await api<{ jobs: Job[] }>(second.daemon, '/v1/attestations', {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
      body: shellAttestation('fails.txt', 'exit 3', 'never\n'),
    });
    const job = await finished(second.daemon, res.body.jobs[0]!.id);
    assert.equal(job.outcome, 'error');
    assert.equal(job.attempt, 1, 'a build failure is final: not retried');
    assert.equal((job.result as { error: { code: string } }).error.code, 'BUILD_FAILED');
    const refused = await api<{ error: { code: string } }>(second.daemon, `/v1/jobs/${job.id}/retry`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    assert.equal(refused.status, 400, 'a finished verdict is not retried (a re-check is a new job)');
    assert.equal(refused.body.error.code, 'BAD_REQUEST');
  } finally {
    await second.daemon.stop();
    await rm(dir2, { recursive: true, force: true });
  }
});

test('an artifact that was reproduced and then is not sends a distinct regression event', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-daemon-'));
  const { daemon, feedDir } = await start(dir);
  try {
    // Two attestations for the same artifact: the second's build recipe no longer reproduces it.
    await dropFile(feedDir, 'v1.json', shellAttestation('lib.txt', 'echo stable', 'stable\n'));
    const first = await waitFor('first verdict', async () => (await daemon.store.jobs({ state: 'done' }))[0]);
    assert.equal(first.outcome, 'reproduced');
    await dropFile(feedDir, 'v2.json', shellAttestation('lib.txt', 'echo drifted', 'stable\n'));
    const second = await waitFor('second verdict', async () => (await daemon.store.jobs({ state: 'done' })).find((j) => j.id !== first.id));
    assert.equal(second.outcome, 'not-reproduced');
    await waitFor('webhook events', async () => events.filter((e) => e.jobId === second.id).length === 2);
    assert.deepEqual(events.filter((e) => e.jobId === second.id).map((e) => e.event), ['verdict', 'regression']);
    assert.deepEqual(events.filter((e) => e.jobId === first.id).map((e) => e.event), ['verdict']);
    assert.equal(events.find((e) => e.event === 'regression')!.key, `${second.id}:regression`);
  } finally {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
