import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as inputs from '../../fixtures/publish/inputs.ts';
import { isReprodError } from '../../src/errors.ts';
import { signStatement } from '../../src/publish/sign.ts';
import { keySigner } from '../../src/publish/signers/index.ts';
import { DirectorySink, PROVENANCE_FILE, VERDICT_FILE, VSA_FILE } from '../../src/publish/sinks/directory.ts';
import type { Publication } from '../../src/publish/sinks/types.ts';
import { WebhookSink } from '../../src/publish/sinks/webhook.ts';
import { rebuildProvenance, vsaStatement } from '../../src/publish/statements.ts';
import { makeKey, scratch } from '../support/publish.ts';

let dir: string;
let cleanup: () => Promise<void>;
let publication: Publication;
before(async () => {
  ({ dir, cleanup } = await scratch());
  const key = await makeKey(dir, 'k');
  const signer = await keySigner(key.privatePath);
  publication = {
    jobId: 'job-0001',
    subject: inputs.vsaReproduced.subject,
    outcome: 'reproduced',
    vsa: await signStatement(vsaStatement(inputs.vsaReproduced), signer),
    provenance: await signStatement(rebuildProvenance(inputs.provenanceReproduced), signer),
    verdict: { outcome: 'reproduced', subject: inputs.vsaReproduced.subject },
    files: { 'report.json': '{"differences":[]}\n' },
  };
});
after(() => cleanup());

test('directory sink writes <out>/<sha256>/ files, and replaces them on a re-run', async () => {
  const out = join(dir, 'out');
  const sink = new DirectorySink(out);
  await sink.publish(publication);
  const sub = join(out, publication.subject.sha256);
  assert.deepEqual((await readdir(sub)).sort(), [PROVENANCE_FILE, 'report.json', VERDICT_FILE, VSA_FILE].sort());
  assert.deepEqual(JSON.parse(await readFile(join(sub, VSA_FILE), 'utf8')), publication.vsa);
  assert.deepEqual(JSON.parse(await readFile(join(sub, PROVENANCE_FILE), 'utf8')), publication.provenance);
  await sink.publish({ ...publication, verdict: { outcome: 'reproduced', run: 2 } });
  assert.equal(JSON.parse(await readFile(join(sub, VERDICT_FILE), 'utf8')).run, 2);
  // No temp files are left behind.
  assert.equal((await readdir(sub)).filter((n) => n.startsWith('.')).length, 0);
});

test('directory sink refuses bad digests and file names that would leave the folder', async () => {
  const sink = new DirectorySink(join(dir, 'out2'));
  await assert.rejects(sink.publish({ ...publication, subject: { name: 'x', sha256: '../../etc' } }), (e) => isReprodError(e, 'PUBLISH_FAILED'));
  await assert.rejects(sink.publish({ ...publication, files: { '../evil': 'x' } }), (e) => isReprodError(e, 'PUBLISH_FAILED'));
  await assert.rejects(sink.publish({ ...publication, files: { [VSA_FILE]: 'x' } }), (e) => isReprodError(e, 'PUBLISH_FAILED'));
});

test('directory sink: an output path that cannot be a folder is PUBLISH_FAILED, retryable', async () => {
  const out = join(dir, 'not-a-folder');
  await writeFile(out, '');
  await assert.rejects(new DirectorySink(out).publish(publication), (e) => isReprodError(e, 'PUBLISH_FAILED') && e.retryable);
});

/** A 127.0.0.1 server answering with the given statuses in turn (then 200). */
async function server(statuses: number[]): Promise<{ url: string; bodies: unknown[]; hits: () => number; close: () => Promise<void> }> {
  const bodies: unknown[] = [];
  let n = 0;
  const srv = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      const status = statuses[n++] ?? 200;
      if (status === 429) res.setHeader('retry-after', '0');
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, bodies, hits: () => n, close: () => new Promise((r) => srv.close(() => r())) };
}

test('webhook sink retries 408, 429 and 5xx, then delivers the JSON', async () => {
  const s = await server([503, 429, 408]);
  try {
    await new WebhookSink({ url: s.url, backoffBaseMs: 1, backoffMaxMs: 5 }).publish(publication);
    assert.equal(s.hits(), 4);
    const body = s.bodies[3] as any;
    assert.equal(body.jobId, 'job-0001');
    assert.equal(body.outcome, 'reproduced');
    assert.deepEqual(body.attestations.vsa, publication.vsa);
  } finally {
    await s.close();
  }
});

test('webhook sink does not retry a 400 and gives up after its attempts on 500s', async () => {
  const s = await server([400]);
  try {
    await assert.rejects(new WebhookSink({ url: s.url, backoffBaseMs: 1 }).publish(publication), (e) => isReprodError(e, 'PUBLISH_FAILED') && !e.retryable);
    assert.equal(s.hits(), 1);
  } finally {
    await s.close();
  }
  const t = await server([500, 500, 500, 500]);
  try {
    await assert.rejects(new WebhookSink({ url: t.url, attempts: 3, backoffBaseMs: 1 }).publish(publication), (e) => isReprodError(e, 'PUBLISH_FAILED') && e.retryable);
    assert.equal(t.hits(), 3);
  } finally {
    await t.close();
  }
});

test('webhook sink retries when nothing listens, and validates its options', async () => {
  const s = await server([]);
  const url = s.url;
  await s.close();
  await assert.rejects(new WebhookSink({ url, attempts: 2, backoffBaseMs: 1 }).publish(publication), (e) => isReprodError(e, 'PUBLISH_FAILED') && (e.details as any).attempts === 2);
  assert.throws(() => new WebhookSink({ url: 'ftp://127.0.0.1/x' }), (e) => isReprodError(e, 'CONFIG_INVALID'));
  assert.throws(() => new WebhookSink({ url, attempts: 0 }), (e) => isReprodError(e, 'CONFIG_INVALID'));
});
