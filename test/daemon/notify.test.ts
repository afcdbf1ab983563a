/** The daemon's webhook retries transient failures and gives up on a refusal. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { isReprodError } from '../../src/errors.ts';
import { WebhookNotifier } from '../../src/daemon/notify.ts';

const note = { event: 'verdict' as const, jobId: 'j1', attempt: 1, subject: { name: 'a', sha256: 'a'.repeat(64) }, outcome: 'reproduced', attestationSha256: 'b'.repeat(64) };

test('503 twice then 200: delivered once, with the same idempotency key each try', async () => {
  const seen: { status: number; key: string; body: { type: string } }[] = [];
  let n = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const status = ++n <= 2 ? 503 : n === 4 ? 400 : 200;
      seen.push({ status, key: String(req.headers['idempotency-key']), body: JSON.parse(body) as { type: string } });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    await new WebhookNotifier({ url, retries: 3, backoffBaseMs: 10 }).send(note);
    assert.deepEqual(seen.map((s) => s.status), [503, 503, 200]);
    assert.deepEqual(new Set(seen.map((s) => s.key)), new Set(['j1:verdict']));
    assert.equal(seen[0]!.body.type, 'reprod.verdict.v1');
    // A 4xx is the receiver's final word: no retry.
    await assert.rejects(new WebhookNotifier({ url, retries: 3, backoffBaseMs: 10 }).send(note), (e) => isReprodError(e, 'PUBLISH_FAILED'));
    assert.equal(seen.length, 4);
  } finally {
    server.close();
  }
});
