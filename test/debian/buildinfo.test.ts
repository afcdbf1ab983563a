import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isReprodError } from '../../src/errors.ts';
import { intakeBuildinfo, looksLikeBuildinfo, parseBuildinfo, parseEnvironment, parseInstalledBuildDepends } from '../../src/inputs/debian/buildinfo.ts';
import { DEBIAN_BUILD_TYPE, debianParameters } from '../../src/inputs/debian/claim.ts';
import { makeTestKey, type TestKey } from '../support/gpg-key.ts';

// A real .buildinfo: dpkg-buildpackage's own output for fixtures/debian/reprod-hello (see test/support/debian-vendor.ts).
const TEXT = readFileSync(fileURLToPath(new URL('../../fixtures/debian/buildinfo/reprod-hello_1.0_amd64.buildinfo', import.meta.url)), 'utf8');
const ATT = { format: 'debian-buildinfo' as const, sha256: 'a'.repeat(64) };
let key: TestKey;
before(async () => {
  key = await makeTestKey('reprod test buildd');
});
after(() => key?.cleanup());

test('parses what dpkg-genbuildinfo writes', () => {
  const b = parseBuildinfo(TEXT);
  assert.equal(b.source, 'reprod-hello');
  assert.equal(b.version, '1.0');
  assert.equal(b.architecture, 'amd64');
  assert.deepEqual(b.buildinfo.architectures, ['all', 'amd64']);
  assert.equal(b.buildinfo.buildPath, '/build/reproducible-path/reprod-hello-1.0');
  assert.equal(b.buildinfo.buildDate, 'Tue, 05 Mar 2024 12:00:01 +0000');
  assert.deepEqual(b.buildinfo.environment, { DEB_BUILD_OPTIONS: 'parallel=1', LC_ALL: 'C.UTF-8', SOURCE_DATE_EPOCH: '1709287200' });
  assert.equal(b.buildinfo.installedBuildDepends.length, 122);
  assert.deepEqual(b.buildinfo.installedBuildDepends.find((p) => p.name === 'bsdutils'), { name: 'bsdutils', version: '1:2.38.1-5+deb12u3' });
  assert.deepEqual(b.debs.map((d) => d.name), ['reprod-hello-stamp_1.0_all.deb', 'reprod-hello_1.0_amd64.deb']);
});

test('content detection: plain and clear-signed buildinfo yes; JSON, a .dsc, a Packages stanza no', async () => {
  assert.ok(looksLikeBuildinfo(Buffer.from(TEXT)));
  assert.ok(looksLikeBuildinfo(Buffer.from(await key.clearsign(TEXT))));
  assert.ok(!looksLikeBuildinfo(Buffer.from('{"payloadType":"application/vnd.in-toto+json"}')));
  assert.ok(!looksLikeBuildinfo(Buffer.from('Format: 3.0 (quilt)\nSource: hello\nChecksums-Sha256:\n x 1 y\n')));
  assert.ok(!looksLikeBuildinfo(Buffer.from('Package: hello\nVersion: 1\n')));
});

test('binNMUs: Source names the source version, Version the binary one', () => {
  const b = parseBuildinfo(TEXT.replace('Source: reprod-hello', 'Source: reprod-hello (1.0)').replace('Version: 1.0', 'Version: 1.0+b1'));
  assert.equal(b.version, '1.0');
  assert.equal(b.buildinfo.binaryVersion, '1.0+b1');
});

test('malformed fields are ATTESTATION_MALFORMED', () => {
  const bad = [
    TEXT.replace('Build-Path: /build/reproducible-path/reprod-hello-1.0', 'Build-Path: /build/../etc'),
    TEXT.replace('Build-Path: /build/reproducible-path/reprod-hello-1.0', 'Build-Path: relative/path'),
    TEXT.replace(/^Source: .*\n/m, ''),
    TEXT.replace(/^ 4fa3[0-9a-f]+ /m, ' nothex '),
    TEXT.replace(/(^Checksums-Sha256:\n [0-9a-f]{64} \d+ )reprod-hello-stamp_1\.0_all\.deb/m, '$1../x.deb'),
    TEXT.replace('Build-Date: Tue, 05 Mar 2024 12:00:01 +0000', 'Build-Date: yesterday'),
    TEXT.replace(' bash (= 5.2.15-2+b13),', ' bash (>= 5),'),
  ];
  for (const t of bad) assert.notEqual(t, TEXT);
  for (const t of bad) assert.throws(() => parseBuildinfo(t), (e) => isReprodError(e, 'ATTESTATION_MALFORMED'));
  assert.deepEqual(parseInstalledBuildDepends('libc6:amd64 (= 2.36-9), make (= 4.3-4.1)'), [
    { name: 'libc6', version: '2.36-9', arch: 'amd64' },
    { name: 'make', version: '4.3-4.1' },
  ]);
  assert.deepEqual(parseEnvironment(['X="a \\"b\\" c"']), { X: 'a "b" c' });
});

test('signed by a trusted key: a claim with the .debs as subjects', async () => {
  const vc = await intakeBuildinfo(Buffer.from(await key.clearsign(TEXT)), { keyrings: [key.keyring], allowUnsigned: false }, ATT);
  assert.equal(vc.claim.buildType, DEBIAN_BUILD_TYPE);
  assert.equal(vc.signer.$case, 'key');
  assert.deepEqual(vc.claim.subjects.map((s) => s.name), ['reprod-hello-stamp_1.0_all.deb', 'reprod-hello_1.0_amd64.deb']);
  assert.equal(vc.claim.subjects[1]!.sha256, 'f930d38b6b578d8e57467ba04cf7aecd23565b7bc712de8fd3198d259cc02a5b');
  assert.equal(debianParameters(vc).buildinfo?.buildPath, '/build/reproducible-path/reprod-hello-1.0');
  assert.equal(vc.claim.source?.uri, 'deb-src:reprod-hello=1.0');
});

test('a signed buildinfo whose body was changed, or signed by another key, is SIGNATURE_INVALID', async () => {
  const signed = await key.clearsign(TEXT);
  const tampered = signed.replace('f930d38b6b578d8e', 'f930d38b6b578d8f');
  await assert.rejects(intakeBuildinfo(Buffer.from(tampered), { keyrings: [key.keyring], allowUnsigned: false }, ATT), (e) => isReprodError(e, 'SIGNATURE_INVALID'));
  const other = await makeTestKey('another');
  try {
    await assert.rejects(intakeBuildinfo(Buffer.from(signed), { keyrings: [other.keyring], allowUnsigned: false }, ATT), (e) => isReprodError(e, 'SIGNATURE_INVALID'));
  } finally {
    await other.cleanup();
  }
});

test('unsigned: refused unless allowed or its .debs are confirmed by the signed archive', async () => {
  await assert.rejects(intakeBuildinfo(Buffer.from(TEXT), { keyrings: [key.keyring], allowUnsigned: false }, ATT), (e) => isReprodError(e, 'UNTRUSTED_SIGNER'));
  await assert.rejects(intakeBuildinfo(Buffer.from(TEXT), { keyrings: [], allowUnsigned: false, confirmDebs: async () => false }, ATT), (e) => isReprodError(e, 'UNTRUSTED_SIGNER'));
  const confirmed = await intakeBuildinfo(Buffer.from(TEXT), { keyrings: [], allowUnsigned: false, confirmDebs: async (b) => b.debs.length === 2 }, ATT);
  assert.equal(confirmed.signer.$case, 'unverified');
  const allowed = await intakeBuildinfo(Buffer.from(TEXT), { keyrings: [], allowUnsigned: true }, ATT);
  assert.equal(allowed.claim.subjects.length, 2);
});
