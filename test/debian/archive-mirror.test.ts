import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_DEBIAN_KEYRING } from '../../src/config/debian.ts';
import { Archive } from '../../src/inputs/debian/archive.ts';
import { pickDebianMirror, readAptSources } from '../../src/inputs/debian/apt-sources.ts';
import { makeTestKey } from '../support/gpg-key.ts';
import { isReprodError } from '../../src/errors.ts';

// The machine's own mirror (from its apt sources) and Debian's real archive keyring.
test("the real mirror's InRelease verifies with debian-archive-keyring, and names Packages by sha256", async () => {
  const mirror = pickDebianMirror(await readAptSources());
  const suite = mirror.suites[0]!;
  const archive = new Archive({ mirror: mirror.uri, keyrings: [DEFAULT_DEBIAN_KEYRING] });
  const release = await archive.release(suite);
  assert.ok(release.signers.length >= 1, 'at least one Debian archive key signed it');
  assert.ok(release.suite === suite || release.codename === suite);
  assert.match(release.files.get('main/binary-amd64/Packages.xz')?.sha256 ?? '', /^[0-9a-f]{64}$/);
  // the same bytes are refused under a key that is not Debian's
  const key = await makeTestKey();
  try {
    await assert.rejects(new Archive({ mirror: mirror.uri, keyrings: [key.keyring] }).release(suite), (e) => isReprodError(e, 'INDEX_SIGNATURE_INVALID'));
  } finally {
    await key.cleanup();
  }
});
