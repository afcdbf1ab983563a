import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { isReprodError, type ErrorCode } from '../../src/errors.ts';
import { Archive } from '../../src/inputs/debian/archive.ts';
import { startMiniArchive, type MiniArchive } from '../support/debian-archive.ts';
import { makeTestKey, type TestKey } from '../support/gpg-key.ts';

let key: TestKey;
let stranger: TestKey;
const deb = Buffer.from('!<arch>\nnot really a deb, only its digest matters here\n');
const dsc = Buffer.from('Format: 3.0 (quilt)\nSource: hello\n');
const tarball = Buffer.from('orig tarball bytes');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const code = (c: ErrorCode) => (e: unknown) => isReprodError(e, c);

before(async () => {
  key = await makeTestKey();
  stranger = await makeTestKey('not the archive');
});
after(async () => {
  await key.cleanup();
  await stranger.cleanup();
});

async function withArchive(fn: (a: MiniArchive) => Promise<void>, extra: Partial<Parameters<typeof startMiniArchive>[0]> = {}): Promise<void> {
  const a = await startMiniArchive({
    key,
    binaries: [
      { package: 'hello', version: '2.10-3', architecture: 'amd64', bytes: deb },
      { package: 'hello-doc', source: 'hello', version: '2.10-3', architecture: 'all', bytes: Buffer.from('doc deb') },
      { package: 'libfoo1', source: 'foo (1.0-1)', version: '1.0-1+b1', architecture: 'amd64', bytes: Buffer.from('binNMU deb') },
      { package: 'other', version: '1.0', architecture: 'amd64', bytes: Buffer.from('hello mentioned, not built from it') },
    ],
    sources: [{ name: 'hello', version: '2.10-3', files: [{ name: 'hello_2.10.orig.tar.gz', bytes: tarball }, { name: 'hello_2.10-3.dsc', bytes: dsc }] }],
    ...extra,
  });
  try {
    await fn(a);
  } finally {
    await a.close();
  }
}

const open = (a: MiniArchive, keyrings = [key.keyring], now?: Date) => new Archive({ mirror: a.url, keyrings, ...(now ? { now: () => now } : {}) });

test('a good chain: InRelease verified, Packages and Sources checked against it, .deb and .dsc digests found', async () => {
  await withArchive(async (a) => {
    const archive = open(a);
    const release = await archive.release(a.suite);
    assert.deepEqual(release.signers, [key.fingerprint]);
    const bins = await archive.binaries(a.suite, 'hello', '2.10-3', ['amd64']);
    assert.deepEqual(bins.map((b) => [b.package, b.filename, b.sha256]), [['hello', 'pool/main/h/hello/hello_2.10-3_amd64.deb', sha(deb)]]);
    assert.deepEqual((await archive.binaries(a.suite, 'hello', '2.10-3', ['all'])).map((b) => b.package), ['hello-doc']);
    // a binNMU: the binary version differs from its source's
    assert.deepEqual((await archive.binaries(a.suite, 'foo', '1.0-1', ['amd64'])).map((b) => b.version), ['1.0-1+b1']);
    assert.deepEqual(await archive.binaries(a.suite, 'hello', '9.9-9', ['amd64']), []);
    const src = await archive.sourcePackage(a.suite, 'hello', '2.10-3');
    assert.equal(src?.directory, 'pool/main/h/hello');
    assert.deepEqual(src?.files.map((f) => [f.name, f.sha256]), [['hello_2.10-3.dsc', sha(dsc)], ['hello_2.10.orig.tar.gz', sha(tarball)]]);
    assert.equal(await archive.sourcePackage(a.suite, 'hello', '1.0-1'), undefined);
    // the compressed variant was read, and only once
    assert.equal(a.requests.filter((p) => p.endsWith('binary-amd64/Packages.xz')).length, 1);
    // an armoured keyring works as well
    assert.equal((await open(a, [key.armoredKeyring]).release(a.suite)).signers[0], key.fingerprint);
  });
});

test('a Packages index that differs from the signed Release is INDEX_HASH_MISMATCH', async () => {
  await withArchive(async (a) => {
    const path = `dists/${a.suite}/main/binary-amd64/Packages.xz`;
    const good = a.get(path)!;
    a.put(path, Buffer.concat([good.subarray(0, good.length - 1), Buffer.from([good[good.length - 1]! ^ 1])]));
    await assert.rejects(open(a).binaries(a.suite, 'hello', '2.10-3', ['amd64']), code('INDEX_HASH_MISMATCH'));
    // the Sources index is still fine: each file stands on its own digest
    assert.ok(await open(a).sourcePackage(a.suite, 'hello', '2.10-3'));
  });
});

test('an InRelease by another key, a tampered one and an unsigned Release are INDEX_SIGNATURE_INVALID', async () => {
  await withArchive(async (a) => {
    await assert.rejects(open(a, [stranger.keyring]).release(a.suite), code('INDEX_SIGNATURE_INVALID'));
    const inRelease = a.get(`dists/${a.suite}/InRelease`)!.toString();
    // a mirror that swaps the Packages digest in the signed text
    const forged = inRelease.replace(/^ ([0-9a-f]{64}) (\d+) main\/binary-amd64\/Packages.xz$/m, (_m, _h, size) => ` ${'0'.repeat(64)} ${size} main/binary-amd64/Packages.xz`);
    assert.notEqual(forged, inRelease);
    a.put(`dists/${a.suite}/InRelease`, forged);
    await assert.rejects(open(a).binaries(a.suite, 'hello', '2.10-3', ['amd64']), code('INDEX_SIGNATURE_INVALID'));
    a.put(`dists/${a.suite}/InRelease`, a.get(`dists/${a.suite}/Release`)!);
    await assert.rejects(open(a).release(a.suite), code('INDEX_SIGNATURE_INVALID'));
    // signed, but with unsigned stanzas appended after the signature
    a.put(`dists/${a.suite}/InRelease`, inRelease + '\nSHA256:\n 00 1 main/binary-amd64/Packages\n');
    await assert.rejects(open(a).release(a.suite), code('INDEX_SIGNATURE_INVALID'));
  });
});

test('a Release past its Valid-Until is INDEX_EXPIRED; one for another suite or from the future is INDEX_INVALID', async () => {
  const validUntil = new Date('2030-01-02T00:00:00Z');
  await withArchive(
    async (a) => {
      assert.ok(await open(a, [key.keyring], new Date('2030-01-01T00:00:00Z')).release(a.suite));
      await assert.rejects(open(a, [key.keyring], new Date('2030-01-03T00:00:00Z')).release(a.suite), code('INDEX_EXPIRED'));
      await assert.rejects(open(a, [key.keyring], new Date('2024-01-01T00:00:00Z')).release(a.suite), code('INDEX_INVALID'));
      // a validly signed Release of another suite served under this suite's name
      a.options.suite = 'other-suite';
      await a.publish();
      a.put(`dists/reprod-test/InRelease`, a.get('dists/other-suite/InRelease')!);
      await assert.rejects(open(a, [key.keyring], new Date('2030-01-01T00:00:00Z')).release('reprod-test'), code('INDEX_INVALID'));
    },
    { date: new Date('2029-12-01T00:00:00Z'), validUntil },
  );
});

test('index files are kept by sha256 across runs; a corrupt cached copy is fetched again', async () => {
  const { mkdtemp, rm, writeFile, readdir } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const cacheDir = await mkdtemp(join(tmpdir(), 'reprod-debidx-'));
  try {
    await withArchive(async (a) => {
      const reads = () => a.requests.filter((p) => p.endsWith('Packages.xz')).length;
      const cached = () => new Archive({ mirror: a.url, keyrings: [key.keyring], cacheDir });
      assert.equal((await cached().binaries(a.suite, 'hello', '2.10-3', ['amd64'])).length, 1);
      assert.equal(reads(), 1);
      assert.equal((await cached().binaries(a.suite, 'hello', '2.10-3', ['amd64'])).length, 1);
      assert.equal(reads(), 1, 'the second run read the verified copy');
      for (const n of await readdir(cacheDir)) await writeFile(join(cacheDir, n), 'corrupt');
      assert.equal((await cached().binaries(a.suite, 'hello', '2.10-3', ['amd64'])).length, 1);
      assert.equal(reads(), 2);
    });
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
});
