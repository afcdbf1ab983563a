import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildDependsOf, changelogEpoch } from '../../src/inputs/debian/source-package.ts';

test('SOURCE_DATE_EPOCH from the newest debian/changelog entry', () => {
  const changelog = `hello (2.10-3) unstable; urgency=medium

  * Something.

 -- Santiago Vila <sanvila@debian.org>  Mon, 26 Dec 2022 16:30:00 +0100

hello (2.10-2) unstable; urgency=medium

 -- Santiago Vila <sanvila@debian.org>  Sat, 29 Jun 2019 12:00:00 +0200
`;
  assert.equal(changelogEpoch(changelog), Date.parse('2022-12-26T15:30:00Z') / 1000);
  assert.equal(changelogEpoch('no trailer line'), undefined);
  assert.equal(changelogEpoch(' -- a <b>  not a date'), undefined);
});

test('Build-Depends of a (signed) .dsc, all three fields, continuation lines joined', () => {
  const dsc = `Format: 3.0 (quilt)
Source: hello
Build-Depends: debhelper-compat (= 13),
 help2man
Build-Depends-Indep: texinfo
`;
  assert.equal(buildDependsOf(dsc), 'debhelper-compat (= 13), help2man, texinfo');
});

test('a claim\'s own mirror URL and pins are never used unless reprod\'s archive intake made them', async () => {
  const { makeTestKey } = await import('../support/gpg-key.ts');
  const { startMiniArchive } = await import('../support/debian-archive.ts');
  const { locateSource } = await import('../../src/inputs/debian/source-package.ts');
  const key = await makeTestKey('pins');
  const dsc = Buffer.from('Format: 3.0 (native)\nSource: pkg\nVersion: 1.0\n');
  const archive = await startMiniArchive({ key, suite: 'bookworm', sources: [{ name: 'pkg', version: '1.0', files: [{ name: 'pkg_1.0.dsc', bytes: dsc }] }] });
  try {
    const claimed = { source: 'pkg', version: '1.0', architecture: 'amd64', mirror: 'http://169.254.169.254/latest', directory: 'pool/evil', sourceFiles: [{ name: 'pkg_1.0.dsc', sha256: '0'.repeat(64) }] };
    const cfg = { mirror: archive.url, suites: [archive.suite], keyrings: [key.keyring] };
    const looked = await locateSource(claimed, cfg);
    assert.equal(looked.mirror, archive.url.replace(/\/+$/, ''));
    assert.equal(looked.directory, 'pool/main/p/pkg');
    assert.notEqual(looked.files[0]!.sha256, '0'.repeat(64));
    const fromIntake = await locateSource(claimed, cfg, undefined, true);
    assert.equal(fromIntake.mirror, archive.url);
    assert.equal(fromIntake.directory, 'pool/evil');
  } finally {
    await archive.close();
    await key.cleanup();
  }
});
