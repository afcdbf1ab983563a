/** The HTTP API's guards: auth, size limits, slow clients, bad ids, JSON error codes. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import type { JobResult, JobRunner } from '../../src/daemon/runner.ts';
import { silentLogger } from '../../src/log/logger.ts';
import { daemonWorkspace, shellAttestation, TEST_TOKEN } from '../support/daemon.ts';

/** A light real runner: every job reproduces at once (the API is under test, not builds). */
const instant: JobRunner = { run: async (): Promise<JobResult> => ({ outcome: 'reproduced' }) };

let dir: string;
let daemon: Daemon;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reprod-api-'));
  const ws = await daemonWorkspace(dir, { feeds: [], api: { port: 0, token: TEST_TOKEN, maxBodyBytes: 4096, headersTimeoutSeconds: 0.5, requestTimeoutSeconds: 1 } });
  daemon = await Daemon.start({ loaded: loadConfig(ws.configPath), logger: silentLogger, runner: instant });
});
after(async () => {
  await daemon.stop();
  await rm(dir, { recursive: true, force: true });
});

async function call(path: string, init?: RequestInit): Promise<{ status: number; body: { error?: { code: string; message: string } } & Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${daemon.url}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as never, headers: res.headers };
}

const attestation = shellAttestation('api.txt', 'echo api', 'api\n');

test('listens on loopback by default and answers health checks', async () => {
  assert.match(daemon.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal((await call('/healthz')).status, 200);
  assert.equal((await call('/readyz')).status, 200);
});

test('write endpoints need the bearer token', async () => {
  const none = await call('/v1/attestations', { method: 'POST', body: attestation });
  assert.equal(none.status, 401);
  assert.equal(none.body.error?.code, 'UNAUTHORIZED');
  assert.equal(none.headers.get('www-authenticate'), 'Bearer');
  const wrong = await call('/v1/attestations', { method: 'POST', body: attestation, headers: { authorization: `Bearer ${TEST_TOKEN}x` } });
  assert.equal(wrong.status, 401);
  const retry = await call('/v1/jobs/abc/retry', { method: 'POST' });
  assert.equal(retry.status, 401);
  const ok = await call('/v1/attestations', { method: 'POST', body: attestation, headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  assert.equal(ok.status, 201);
  assert.equal(ok.body.created, 1);
});

test('bodies over the limit get 413 PAYLOAD_TOO_LARGE, declared or streamed', async () => {
  const big = new Uint8Array(5000).fill(32);
  const declared = await call('/v1/attestations', { method: 'POST', body: big, headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  assert.equal(declared.status, 413);
  assert.equal(declared.body.error?.code, 'PAYLOAD_TOO_LARGE');
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(1024).fill(32));
      c.close();
    },
  });
  const chunked = await call('/v1/attestations', { method: 'POST', body: stream, headers: { authorization: `Bearer ${TEST_TOKEN}` }, duplex: 'half' } as RequestInit);
  assert.equal(chunked.status, 413);
});

test('malformed input, bad ids and path traversal get coded JSON errors', async () => {
  const auth = { authorization: `Bearer ${TEST_TOKEN}` };
  const bad = await call('/v1/attestations', { method: 'POST', body: '{"not":"an attestation"}', headers: auth });
  assert.equal(bad.status, 422);
  assert.equal(bad.body.error?.code, 'UNSUPPORTED_FORMAT');
  for (const path of ['/v1/jobs/..%2F..%2Fetc%2Fpasswd', '/v1/reports/..%2f..%2freprod.db.json', '/v1/artifacts/..%2Fout', '/v1/artifacts/not-a-digest', '/v1/jobs/a.b']) {
    const r = await call(path);
    assert.equal(r.status, 400, path);
    assert.equal(r.body.error?.code, 'BAD_REQUEST', path);
  }
  assert.equal((await call('/v1/jobs?state=bogus')).body.error?.code, 'BAD_REQUEST');
  assert.equal((await call('/v1/jobs?limit=0')).status, 400);
  const missing = await call('/v1/jobs/no-such-job');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error?.code, 'NOT_FOUND');
  assert.equal((await call(`/v1/artifacts/${'0'.repeat(64)}/attestations`)).status, 404);
  assert.equal((await call('/nope')).status, 404);
  const method = await call('/v1/jobs', { method: 'DELETE' });
  assert.equal(method.status, 405);
});

test('a client that sends headers too slowly is cut off', async () => {
  const [host, port] = daemon.url.replace('http://', '').split(':') as [string, string];
  const closed = await new Promise<string>((resolve) => {
    const s = connect(Number(port), host, () => s.write('GET /v1/jobs HTTP/1.1\r\nHost: x\r\n'));
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('close', () => resolve(got));
    setTimeout(() => resolve('still open'), 8000).unref();
  });
  assert.notEqual(closed, 'still open');
  if (closed) assert.match(closed, /^HTTP\/1\.1 408/);
});

test('/metrics speaks the Prometheus text format', async () => {
  const res = await fetch(`${daemon.url}/metrics`);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  for (const name of ['reprod_jobs', 'reprod_queue_depth', 'reprod_verdicts_total', 'reprod_build_duration_seconds']) assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'));
  assert.match(text, /^reprod_build_duration_seconds_bucket\{le="\+Inf"\} \d+$/m);
});

test('without a configured token, writes are refused', async () => {
  const d2 = await mkdtemp(join(tmpdir(), 'reprod-api-'));
  const ws = await daemonWorkspace(d2, { feeds: [], api: { port: 0 } });
  const saved = process.env.REPROD_API_TOKEN;
  delete process.env.REPROD_API_TOKEN;
  const other = await Daemon.start({ loaded: loadConfig(ws.configPath), logger: silentLogger, runner: instant });
  try {
    const res = await fetch(`${other.url}/v1/attestations`, { method: 'POST', body: attestation, headers: { authorization: 'Bearer anything' } });
    assert.equal(res.status, 401);
  } finally {
    if (saved !== undefined) process.env.REPROD_API_TOKEN = saved;
    await other.stop();
    await rm(d2, { recursive: true, force: true });
  }
});

test('POST /v1/jobs/:id/recheck queues a new job for a finished one', async () => {
  const auth = { authorization: `Bearer ${TEST_TOKEN}` };
  const sub = await call('/v1/attestations', { method: 'POST', body: shellAttestation('recheck.txt', 'true', 'r'), headers: auth });
  const id = (sub.body.jobs as { id: string }[])[0]!.id;
  for (let i = 0; i < 100 && (await daemon.store.job(id))?.state !== 'done'; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal((await call(`/v1/jobs/${id}/recheck`, { method: 'POST' })).status, 401);
  const re = await call(`/v1/jobs/${id}/recheck`, { method: 'POST', headers: auth });
  assert.equal(re.status, 202);
  const job = re.body.job as { id: string; source: string };
  assert.notEqual(job.id, id);
  assert.equal(job.source, `recheck:${id}`);
  assert.equal((await call('/v1/jobs/nope/recheck', { method: 'POST', headers: auth })).status, 404);
});
