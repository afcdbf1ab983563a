/**
 * The daemon's HTTP API under attack (the real daemon and pipeline, raw sockets
 * where fetch would tidy the request up): token guessing and smuggling, slow
 * bodies, a flood of idle connections, oversized headers, path traversal in
 * report and attestation URLs (encoded, double-encoded, backslashes, NUL),
 * unknown routes and methods. Each case gets its status and coded JSON error;
 * afterwards the daemon still serves, no job was created by a refused request,
 * nothing was written outside the daemon's folders and nothing was signed.
 * (Basic token, body-size and slow-header cases live in test/daemon/api.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { silentLogger } from '../../src/log/logger.ts';
import { generateKeyFiles } from '../../src/publish/index.ts';
import { shellAttestation, TEST_TOKEN } from '../support/daemon.ts';
import { Canary, signedStatements, Workspace } from './harness.ts';

let root: string;
let daemon: Daemon;
let canary: Canary;
let ws: Workspace;
let host = '';
let port = 0;
let outDir: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'reprod-hostile-api-'));
  canary = await new Canary(join(root, 'canary')).arm();
  const key = await generateKeyFiles(join(root, 'keys'));
  const dataDir = join(root, 'data');
  outDir = join(dataDir, 'out');
  await writeFile(
    join(root, 'reprod.yaml'),
    JSON.stringify({
      dataDir,
      signing: { key: key.privatePath },
      daemon: { claimPollMs: 100, feeds: [], api: { port: 0, token: TEST_TOKEN, maxBodyBytes: 64 * 1024, headersTimeoutSeconds: 1, requestTimeoutSeconds: 2 } },
    }),
  );
  ws = new Workspace(root, [dataDir]);
  await ws.snapshot();
  daemon = await Daemon.start({ loaded: loadConfig(join(root, 'reprod.yaml')), logger: silentLogger });
  [host, port] = ((u) => [u.hostname, Number(u.port)] as const)(new URL(daemon.url)) as [string, number];
});

after(async () => {
  await daemon?.stop();
  await rm(root, { recursive: true, force: true });
});

/** Sends raw bytes and returns what came back before the server closed (or `timeout`). */
function raw(request: string | Buffer, waitMs = 8000): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, host, () => s.write(request));
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
    setTimeout(() => {
      s.destroy();
      resolve(got || 'timeout');
    }, waitMs).unref();
  });
}

const statusOf = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
const codeOf = (response: string) => /"code":\s*"([A-Z_]+)"/.exec(response)?.[1];

async function jobCount(): Promise<number> {
  return ((await (await fetch(`${daemon.url}/v1/jobs`)).json()) as { jobs: unknown[] }).jobs.length;
}

describe('hostile API clients', () => {
  const body = Buffer.from(shellAttestation('api.txt', 'echo api', 'api\n'));
  const post = (auth: string) => `POST /v1/attestations HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.toString()}`;

  it('token guessing and smuggling: 401 UNAUTHORIZED every time, no job created', async () => {
    const attempts = [
      '',
      `Authorization: Basic ${Buffer.from(`reprod:${TEST_TOKEN}`).toString('base64')}\r\n`,
      `Authorization: Bearer ${TEST_TOKEN.slice(0, -1)}\r\n`,
      `Authorization: Bearer ${TEST_TOKEN}${TEST_TOKEN}\r\n`,
      `Authorization: Bearer ${TEST_TOKEN} extra\r\n`,
      'Authorization: Bearer\r\n',
      `Authorization: Token ${TEST_TOKEN}\r\n`,
      `X-Api-Token: ${TEST_TOKEN}\r\n`,
      `Cookie: token=${TEST_TOKEN}\r\n`,
    ];
    for (const a of attempts) {
      const r = await raw(post(a));
      assert.equal(statusOf(r), 401, `${JSON.stringify(a)} → ${r.slice(0, 200)}`);
      assert.equal(codeOf(r), 'UNAUTHORIZED');
    }
    const inQuery = await raw(post('').replace('/v1/attestations', `/v1/attestations?token=${TEST_TOKEN}&access_token=${TEST_TOKEN}`));
    assert.equal(statusOf(inQuery), 401);
    assert.equal(await jobCount(), 0);
  });

  it('a body sent slower than the request timeout: cut off (408 or closed), no job created', async () => {
    const r = await new Promise<string>((resolve) => {
      const s: Socket = connect(port, host, () => {
        s.write(`POST /v1/attestations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nContent-Length: 1000\r\n\r\n{`);
        const drip = setInterval(() => s.write(' '), 300);
        s.on('close', () => clearInterval(drip));
      });
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('error', () => undefined);
      s.on('close', () => resolve(got || 'closed'));
      setTimeout(() => resolve('still open'), 15_000).unref();
    });
    assert.notEqual(r, 'still open');
    if (r !== 'closed') assert.equal(statusOf(r), 408, r.slice(0, 200));
    assert.equal(await jobCount(), 0);
  });

  it('200 idle connections do not stop the daemon answering', async () => {
    const idle: Socket[] = [];
    for (let i = 0; i < 200; i++) {
      const s = connect(port, host);
      s.on('error', () => undefined);
      idle.push(s);
    }
    try {
      const res = await fetch(`${daemon.url}/healthz`);
      assert.equal(res.status, 200);
    } finally {
      for (const s of idle) s.destroy();
    }
  });

  it('oversized headers: 431, the daemon keeps serving', async () => {
    const r = await raw(`GET /v1/jobs HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    assert.equal(statusOf(r), 431, r.slice(0, 200));
  });

  it('path traversal in report and attestation URLs: 400 BAD_REQUEST or 404, never a file outside the output tree', async () => {
    const paths = [
      '/v1/reports/..%2F..%2Freprod.db.json',
      '/v1/reports/%2e%2e%2f%2e%2e%2freprod.db.json',
      '/v1/reports/%252e%252e%252freprod.db.json',
      '/v1/reports/..%5C..%5Creprod.db.html',
      '/v1/reports/job%00.json',
      `/v1/reports/${'a'.repeat(200)}.json`,
      '/v1/artifacts/..%2F..%2Fkeys/attestations',
      `/v1/artifacts/${'0'.repeat(64)}%2F..%2F..%2F..%2Fkeys/attestations`,
      `/v1/artifacts/sha512:${'0'.repeat(128)}%2F..%2F..%2Fkeys/attestations`,
      '/v1/jobs/%2e%2e',
    ];
    for (const p of paths) {
      const r = await raw(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.ok([400, 404].includes(statusOf(r)), `${p} → ${r.slice(0, 200)}`);
      assert.ok(['BAD_REQUEST', 'NOT_FOUND'].includes(codeOf(r) ?? ''), `${p} → ${r.slice(0, 300)}`);
      assert.ok(!r.includes('PRIVATE KEY') && !r.includes('SQLite'), `${p} leaked a file`);
    }
    // Dot segments that the URL parser folds away land on routes that need a valid id.
    const folded = await raw(`GET /v1/reports/x/../../../keys/reprod.key HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(statusOf(folded), 404);
  });

  it('unknown routes and methods: 404 / 405 with a coded JSON error', async () => {
    for (const [method, path, status] of [
      ['GET', '/admin', 404],
      ['GET', '/v2/jobs', 404],
      ['GET', '/../../etc/passwd', 404],
      ['TRACE', '/v1/jobs', 405],
      ['PUT', '/v1/attestations', 405],
      ['DELETE', `/v1/artifacts/${'0'.repeat(64)}`, 405],
    ] as const) {
      const r = await raw(`${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.equal(statusOf(r), status, `${method} ${path} → ${r.slice(0, 200)}`);
      assert.ok(codeOf(r), `${method} ${path}: no coded error`);
      assert.ok(!r.includes('root:'), `${method} ${path} leaked a file`);
    }
  });

  it('a request line that is not HTTP: 400, the daemon keeps serving', async () => {
    const r = await raw('\u0000\u0001GARBAGE / SMTP/9\r\n\r\n');
    assert.ok(statusOf(r) === 400 || r === '', r.slice(0, 200));
  });
});

describe('after the hostile API clients', () => {
  it('the daemon serves, no job was created, nothing was signed or written outside its folders', async () => {
    assert.equal((await fetch(`${daemon.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${daemon.url}/readyz`)).status, 200);
    assert.equal(await jobCount(), 0);
    assert.deepEqual(await signedStatements(outDir), []);
    await canary.assertUntouched();
    await ws.assertNothingWrittenOutside();
  });
});
