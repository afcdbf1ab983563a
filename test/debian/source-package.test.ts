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
