import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { subjectsOf } from '../../src/daemon/subjects.ts';
import { isReprodError, type ErrorCode } from '../../src/errors.ts';
import { Archive } from '../../src/inputs/debian/archive.ts';
import { currentSourceVersion, intakeDebianRequest } from '../../src/inputs/debian/archive-claim.ts';
import type { ArchiveSetting } from '../../src/inputs/debian/archive-config.ts';
import { debianParameters, DEBIAN_BUILD_TYPE } from '../../src/inputs/debian/claim.ts';
import { debianDocumentKind } from '../../src/inputs/debian/intake.ts';
import { formatDebianRequest, parseRequestArgument } from '../../src/inputs/debian/request.ts';
import { compareVersions } from '../../src/inputs/debian/version.ts';
import { debianRequestBytes } from '../../src/cli/debian-request.ts';
import { parseConfig } from '../../src/config/load.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMiniArchive, type MiniArchive } from '../support/debian-archive.ts';
import { makeTestKey, type TestKey } from '../support/gpg-key.ts';

let key: TestKey;
let mini: MiniArchive;
let setting: ArchiveSetting;
const deb = Buffer.from('hello amd64 deb');
const dsc = Buffer.from('Format: 3.0 (quilt)\nSource: hello\n');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const code = (c: ErrorCode) => (e: unknown) => isReprodError(e, c);
const request = (extra: Partial<Parameters<typeof formatDebianRequest>[0]> = {}) =>
  Buffer.from(formatDebianRequest({ source: 'hello', version: '2.10-3', architecture: 'amd64', debs: [], ...extra }));

before(async () => {
  key = await makeTestKey();
  mini = await startMiniArchive({
    key,
    suite: 'base',
    binaries: [
      { package: 'hello', version: '2.10-3', architecture: 'amd64', bytes: deb },
      { package: 'hello-doc', source: 'hello', version: '2.10-3', architecture: 'all', bytes: Buffer.from('doc') },
    ],
    sources: [
      { name: 'hello', version: '2.10-3', files: [{ name: 'hello_2.10-3.dsc', bytes: dsc }, { name: 'hello_2.10.orig.tar.gz', bytes: Buffer.from('tar') }] },
      { name: 'hello', version: '2.9-1', files: [{ name: 'hello_2.9-1.dsc', bytes: Buffer.from('old') }] },
    ],
  });
  setting = { archive: new Archive({ mirror: mini.url, keyrings: [key.keyring] }), suites: ['base'] };
});
after(async () => {
  await mini.close();
  await key.cleanup();
});

test('a request becomes a claim: .debs and digests from the signed Packages, source files pinned by the signed Sources', async () => {
  const bytes = request();
  assert.equal(debianDocumentKind(bytes), 'request');
  const vc = await intakeDebianRequest(bytes, setting, 'debian:hello=2.10-3/amd64');
  assert.equal(vc.claim.buildType, DEBIAN_BUILD_TYPE);
  assert.equal(vc.claim.builderId, 'debian:archive');
  assert.deepEqual(vc.claim.subjects.map((s) => [s.name, s.sha256]), [['hello_2.10-3_amd64.deb', sha(deb)]]);
  assert.deepEqual(vc.signer, { $case: 'key', keyId: `debian-archive:${key.fingerprint}` });
  assert.equal(vc.attestation.format, 'debian-archive');
  const p = debianParameters(vc);
  assert.equal(p.architecture, 'amd64');
  assert.equal(p.suite, 'base');
  assert.equal(p.mirror, mini.url);
  assert.equal(p.directory, 'pool/main/h/hello');
  assert.deepEqual(p.sourceFiles?.map((f) => [f.name, f.sha256]), [['hello_2.10-3.dsc', sha(dsc)], ['hello_2.10.orig.tar.gz', sha(Buffer.from('tar'))]]);
  assert.equal(p.buildinfo, undefined);
  // the arch-independent .debs are a request of their own
  const all = await intakeDebianRequest(request({ architecture: 'all' }), setting);
  assert.deepEqual(all.claim.subjects.map((s) => s.name), ['hello-doc_2.10-3_all.deb']);
});

test("the request's digests are a hint only: one the signed index does not list is refused", async () => {
  const good = request({ debs: [{ name: 'hello_2.10-3_amd64.deb', size: deb.length, sha256: sha(deb) }] });
  assert.equal((await intakeDebianRequest(good, setting)).claim.subjects.length, 1);
  assert.deepEqual(subjectsOf(good), [{ name: 'hello_2.10-3_amd64.deb', sha256: sha(deb) }]);
  const lying = request({ debs: [{ name: 'hello_2.10-3_amd64.deb', size: 3, sha256: '1'.repeat(64) }] });
  await assert.rejects(intakeDebianRequest(lying, setting), code('SUBJECT_MISMATCH'));
  // a request without .debs cannot be split into daemon jobs
  assert.throws(() => subjectsOf(request()), code('ATTESTATION_MALFORMED'));
});

test('a version the archive does not list is PACKAGE_NOT_FOUND; a malformed request is ATTESTATION_MALFORMED', async () => {
  await assert.rejects(intakeDebianRequest(request({ version: '2.10-4' }), setting), code('PACKAGE_NOT_FOUND'));
  // the source exists but has no binaries of that architecture
  await assert.rejects(intakeDebianRequest(request({ architecture: 'arm64' }), setting), code('PACKAGE_NOT_FOUND'));
  await assert.rejects(intakeDebianRequest(Buffer.from('Reprod-Request: debian-archive\nSource: ../etc\nVersion: 1\nArchitecture: amd64\n'), setting), code('ATTESTATION_MALFORMED'));
});

test('the current version is the highest of the Sources entries; the CLI argument form', async () => {
  assert.deepEqual(await currentSourceVersion(setting, 'hello'), { version: '2.10-3', suite: 'base' });
  assert.equal(await currentSourceVersion(setting, 'nope'), undefined);
  assert.deepEqual(parseRequestArgument('debian:hello=2.10-3/amd64'), { source: 'hello', version: '2.10-3', architecture: 'amd64' });
  assert.deepEqual(parseRequestArgument('debian:hello'), { source: 'hello', architecture: 'amd64' });
  assert.deepEqual(parseRequestArgument('debian:libfoo=1:2.0-1/all@bookworm-updates'), { source: 'libfoo', version: '1:2.0-1', architecture: 'all', suite: 'bookworm-updates' });
  assert.equal(parseRequestArgument('release.sigstore.json'), undefined);
  assert.throws(() => parseRequestArgument('debian:Hello World'), code('USAGE'));
});

test('Debian version order (deb-version(7))', () => {
  const ordered = ['1.0~rc1', '1.0', '1.0-1', '1.0-1+b1', '1.0a', '1.0.1', '1.2', '1.10', '1:0.1'];
  for (let i = 0; i + 1 < ordered.length; i++) assert.ok(compareVersions(ordered[i]!, ordered[i + 1]!) < 0, `${ordered[i]} < ${ordered[i + 1]}`);
  assert.equal(compareVersions('2.10-3', '2.10-3'), 0);
  assert.equal(compareVersions('1.01', '1.1'), 0);
});

test('the CLI argument becomes a request; without a version, the newest the signed Sources lists', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-debcli-'));
  try {
    const config = parseConfig({ dataDir: dir, rebuilders: { debian: { archive: { mirror: mini.url, suites: ['base'], keyrings: [key.keyring] } } } });
    const loaded = { config, baseDir: dir };
    const text = (await debianRequestBytes('debian:hello', loaded))!.toString();
    assert.equal(text, 'Reprod-Request: debian-archive\nSource: hello\nVersion: 2.10-3\nArchitecture: amd64\n');
    const vc = await intakeDebianRequest(Buffer.from(text), setting);
    assert.equal(vc.claim.subjects[0]!.name, 'hello_2.10-3_amd64.deb');
    assert.match((await debianRequestBytes('debian:hello=2.9-1/all@base', loaded))!.toString(), /Version: 2.9-1\nArchitecture: all\nSuite: base\n/);
    assert.equal(await debianRequestBytes('some/file.json', loaded), undefined);
    await assert.rejects(debianRequestBytes('debian:nosuch', loaded), code('PACKAGE_NOT_FOUND'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
