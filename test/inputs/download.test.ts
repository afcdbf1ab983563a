import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { isReprodError } from '../../src/errors.ts';
import { InputCache } from '../../src/inputs/cache.ts';
import { downloadVerified } from '../../src/inputs/download.ts';
import { scratch } from '../support/publish.ts';

const body = Buffer.from('a published tarball');
const sha512 = createHash('sha512').update(body).digest('hex');
const sha256 = createHash('sha256').update(body).digest('hex');
let server: Server;
let base: string;
let tmp: { dir: string; cleanup: () => Promise<void> };

before(async () => {
  tmp = await scratch('reprod-download-');
  server = createServer((req, res) => {
    if (req.url === '/pkg.tgz') res.end(body);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.close();
  await tmp.cleanup();
});

test('a published artifact is kept in the cache, by sha256, only when its digests match', async () => {
  const cache = new InputCache(tmp.dir);
  const path = await downloadVerified(`${base}/pkg.tgz`, { sha512 }, cache);
  assert.equal(path, cache.inputPath(sha256));
  assert.deepEqual(await readFile(path), body);
  await assert.rejects(downloadVerified(`${base}/pkg.tgz`, { sha512: '0'.repeat(128) }, cache), (e) => isReprodError(e, 'INPUT_DIGEST_MISMATCH'));
  await assert.rejects(downloadVerified(`${base}/missing.tgz`, { sha512 }, cache), (e) => isReprodError(e, 'FETCH_FAILED'));
});
