import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DebianPackagesFeed } from '../../src/daemon/feeds/debian-packages.ts';
import type { FeedDeps } from '../../src/daemon/feeds/types.ts';
import { submissionsFor } from '../../src/daemon/subjects.ts';
import { Archive } from '../../src/inputs/debian/archive.ts';
import { intakeDebianRequest } from '../../src/inputs/debian/archive-claim.ts';
import { SqliteStore } from '../../src/store/sqlite.ts';
import { startMiniArchive } from '../support/debian-archive.ts';
import { makeTestKey } from '../support/gpg-key.ts';

test('debian-packages feed: the current version once, a new version appearing in the signed index becomes one job, nothing twice across a restart', async () => {
  const key = await makeTestKey();
  const dir = await mkdtemp(join(tmpdir(), 'reprod-debfeed-'));
  const mini = await startMiniArchive({
    key,
    binaries: [
      { package: 'hello', version: '2.10-3', architecture: 'amd64', bytes: Buffer.from('hello 3') },
      { package: 'unwatched', version: '1.0', architecture: 'amd64', bytes: Buffer.from('other') },
    ],
    sources: [{ name: 'hello', version: '2.10-3', files: [{ name: 'hello_2.10-3.dsc', bytes: Buffer.from('dsc') }] }],
  });
  const store = await SqliteStore.open(join(dir, 'db'));
  const setting = { archive: new Archive({ mirror: mini.url, keyrings: [key.keyring], releaseMaxAgeMs: 0 }), suites: [mini.suite] };
  const submitted: Array<{ uri: string; bytes: Uint8Array }> = [];
  const errors: unknown[] = [];
  const deps: FeedDeps = {
    store,
    // the daemon's own path: split into one submission per .deb, queued in the store
    submit: async (bytes, meta) => {
      submitted.push({ uri: meta.uri, bytes });
      const results = await store.submitMany(submissionsFor(bytes, meta));
      return results.filter((r) => r.created).length;
    },
    onError: (_f, _w, e) => void errors.push(e),
  };
  const feed = (): DebianPackagesFeed =>
    new DebianPackagesFeed({ name: 'debian-test', packages: ['hello'], architectures: ['amd64'], intervalMs: 60_000, maxBackoffMs: 60_000, archive: async () => setting }, deps);
  try {
    const f1 = feed();
    await f1.poll();
    assert.deepEqual(errors, []);
    assert.deepEqual(submitted.map((s) => s.uri), [`debian:hello=2.10-3/amd64@${mini.suite}`]);
    // what the feed enqueued passes intake against the signed index
    const vc = await intakeDebianRequest(submitted[0]!.bytes, setting);
    assert.deepEqual(vc.claim.subjects.map((s) => s.name), ['hello_2.10-3_amd64.deb']);

    // unchanged InRelease: the Packages index is not even read again
    const packagesReads = () => mini.requests.filter((p) => p.includes('/Packages')).length;
    const before = packagesReads();
    await f1.poll();
    assert.equal(submitted.length, 1);
    assert.equal(packagesReads(), before);

    // a new version is published
    mini.options.binaries!.push({ package: 'hello', version: '2.10-4', architecture: 'amd64', bytes: Buffer.from('hello 4') });
    mini.options.date = new Date(Date.now() + 1000);
    await mini.publish();
    await f1.poll();
    assert.deepEqual(submitted.map((s) => s.uri).slice(1), [`debian:hello=2.10-4/amd64@${mini.suite}`]);
    const jobs = await store.jobs();
    assert.equal(jobs.length, 2, 'one job per version (one .deb each)');

    // a restarted daemon (same store) enqueues nothing already seen, even when InRelease changes
    mini.options.binaries!.push({ package: 'unwatched', version: '2.0', architecture: 'amd64', bytes: Buffer.from('other 2') });
    mini.options.date = new Date(Date.now() + 2000);
    await mini.publish();
    await feed().poll();
    assert.equal(submitted.length, 2);
    assert.deepEqual(errors, []);

    // a tampered index is an error of the poll, and nothing is enqueued
    mini.options.binaries!.push({ package: 'hello', version: '2.10-5', architecture: 'amd64', bytes: Buffer.from('hello 5') });
    mini.options.date = new Date(Date.now() + 3000);
    await mini.publish();
    mini.put(`dists/${mini.suite}/main/binary-amd64/Packages.xz`, Buffer.from('not the signed index'));
    await feed().poll();
    assert.equal(submitted.length, 2);
    assert.equal((errors[0] as { code?: string }).code, 'INDEX_HASH_MISMATCH');
  } finally {
    await mini.close();
    await store.close();
    await key.cleanup();
    await rm(dir, { recursive: true, force: true });
  }
});
