/** Feeds keep cursors in the store: a restart re-reads nothing and misses nothing. */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, utimes, writeFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DirectoryFeed, pendingFiles } from '../../src/daemon/feeds/directory.ts';
import { HttpFeed, parseIndex } from '../../src/daemon/feeds/http.ts';
import type { FeedDeps } from '../../src/daemon/feeds/types.ts';
import { SqliteStore } from '../../src/store/sqlite.ts';
import { shellAttestation } from '../support/daemon.ts';

function recorder(store: SqliteStore) {
  const submitted: string[] = [];
  const errors: string[] = [];
  const deps: FeedDeps = {
    store,
    submit: async (_bytes, meta) => {
      submitted.push(meta.uri);
      return 1;
    },
    onError: (_feed, what) => void errors.push(what),
  };
  return { deps, submitted, errors };
}

test('index parsing: JSON array, JSONL, bare URLs, inline bundles', () => {
  assert.deepEqual(parseIndex('["a.json", {"url": "b.json"}]').map((e) => e.$case), ['url', 'url']);
  assert.deepEqual(parseIndex('"a.json"\n{"payloadType":"x","payload":"","signatures":[]}\nhttps://h/c.json\n').map((e) => e.$case), ['url', 'inline', 'url']);
  assert.deepEqual(parseIndex('  '), []);
  assert.throws(() => parseIndex('[1, 2]'));
});

test('http feed: conditional polls, only new entries, nothing twice across a restart, same origin only, backoff on errors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-feed-'));
  const att = (n: number): Uint8Array => shellAttestation(`f${n}.txt`, `echo ${n}`, `${n}\n`);
  let entries: unknown[] = ['a/1.json', { url: 'a/2.json' }, 'http://127.0.0.2:1/evil.json', JSON.parse(new TextDecoder().decode(att(3)))];
  let version = 1;
  let failing = false;
  const seen: { url: string; headers: IncomingHttpHeaders; status: number }[] = [];
  const server = createServer((req, res) => {
    const done = (status: number, body = ''): void => {
      seen.push({ url: req.url!, headers: req.headers, status });
      res.writeHead(status, status === 200 && req.url === '/index.json' ? { etag: `"v${version}"` } : {});
      res.end(body);
    };
    if (failing) return done(503);
    if (req.url === '/index.json') return req.headers['if-none-match'] === `"v${version}"` ? done(304) : done(200, JSON.stringify(entries));
    const m = /^\/a\/(\d+)\.json$/.exec(req.url!);
    if (m) return done(200, new TextDecoder().decode(att(Number(m[1]))));
    return done(404);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/index.json`;
  const store = await SqliteStore.open(join(dir, 'db'));
  try {
    const r1 = recorder(store);
    const feed = new HttpFeed({ name: 'idx', url, intervalMs: 100, maxBackoffMs: 1000 }, r1.deps);
    await feed.poll();
    assert.equal(r1.submitted.length, 3, 'two URLs and one inline attestation');
    assert.ok(r1.errors.some((e) => e.includes('evil.json')), 'an entry outside the index origin is refused');
    assert.ok(!seen.some((s) => s.url.includes('evil')));
    await feed.poll();
    assert.equal(seen.at(-1)!.status, 304, 'an unchanged index costs one conditional request');
    assert.equal(seen.at(-1)!.headers['if-none-match'], '"v1"');

    entries = [...entries, 'a/4.json'];
    version = 2;
    const fetchedBefore = seen.filter((s) => s.url.startsWith('/a/')).length;
    const r2 = recorder(store);
    const restarted = new HttpFeed({ name: 'idx', url, intervalMs: 100, maxBackoffMs: 1000 }, r2.deps);
    await restarted.poll();
    assert.deepEqual(r2.submitted.map((u) => u.replace(/^.*\//, '')), ['4.json'], 'after a restart only the new entry is read');
    assert.equal(seen.filter((s) => s.url.startsWith('/a/')).length, fetchedBefore + 1);

    failing = true;
    version = 3;
    await restarted.poll();
    const d1 = restarted.nextDelayMs;
    await restarted.poll();
    const d2 = restarted.nextDelayMs;
    assert.ok(d2 > d1 && d1 > 100, `backoff grows: ${d1} then ${d2}`);
    failing = false;
    await restarted.poll();
    assert.equal(restarted.nextDelayMs, 100, 'a success resets the backoff');
  } finally {
    server.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('directory feed: a restart re-reads nothing, and a file moved in with an old mtime is not missed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-feed-'));
  const feedDir = join(dir, 'in');
  await (await import('node:fs/promises')).mkdir(feedDir);
  const store = await SqliteStore.open(join(dir, 'db'));
  try {
    await writeFile(join(feedDir, 'one.json'), shellAttestation('1.txt', 'echo 1', '1\n'));
    await writeFile(join(feedDir, 'broken.json'), 'not json');
    await writeFile(join(feedDir, '.hidden'), 'ignored');
    await new Promise((r) => setTimeout(r, 400));
    const r1 = recorder(store);
    await new DirectoryFeed({ name: 'drop', path: feedDir, intervalMs: 1000 }, r1.deps).poll();
    assert.deepEqual(r1.submitted.map((p) => p.replace(/^.*\//, '')).sort(), ['broken.json', 'one.json']);

    // Written elsewhere long ago, then moved in: its mtime is old, its ctime is now.
    const old = join(dir, 'two.json');
    await writeFile(old, shellAttestation('2.txt', 'echo 2', '2\n'));
    await utimes(old, new Date('2001-01-01'), new Date('2001-01-01'));
    await rename(old, join(feedDir, 'two.json'));
    await new Promise((r) => setTimeout(r, 400));
    const r2 = recorder(store);
    await new DirectoryFeed({ name: 'drop', path: feedDir, intervalMs: 1000 }, r2.deps).poll();
    assert.deepEqual(r2.submitted.map((p) => p.replace(/^.*\//, '')), ['two.json'], 'only the new file, after a restart');
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('pendingFiles orders by time then name and skips what the cursor covers', () => {
  const files = [{ name: 'b', t: 5 }, { name: 'a', t: 5 }, { name: 'c', t: 3 }, { name: 'd', t: 9 }];
  assert.deepEqual(pendingFiles(files, undefined).map((f) => f.name), ['c', 'a', 'b', 'd']);
  assert.deepEqual(pendingFiles(files, { t: 5, names: ['a'] }).map((f) => f.name), ['b', 'd']);
});
