import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { goldenPlanTests } from '../../test/support/golden.ts';
import { rebuilderFor } from '../../src/plan/registry.ts';
import { DEBIAN_BUILD_TYPE } from '../../src/inputs/debian/claim.ts';
import { debian, packagesFromLog, toolchainDrift } from './index.ts';
import { buildTypeFlag, buildPathOf } from './index.ts';
import { faketimeStart } from './toolchain.ts';

// Cases: the vendor fixture's real .buildinfo (fixtures/debian/buildinfo/) under two clocks, an archive claim
// (no buildinfo), and refusals.
goldenPlanTests(debian, fileURLToPath(new URL('testdata/', import.meta.url)));

test('the registry picks the debian rebuilder for Debian claims', () => {
  assert.equal(rebuilderFor(DEBIAN_BUILD_TYPE), debian);
});

test('dpkg-buildpackage builds what the buildinfo built: -b both, -B arch only, -A indep only', () => {
  const p = (architectures: string[]) => ({ source: 's', version: '1', architecture: 'amd64', buildinfo: { environment: {}, installedBuildDepends: [], architectures } });
  assert.equal(buildTypeFlag(p(['all', 'amd64'])), '-b');
  assert.equal(buildTypeFlag(p(['amd64'])), '-B');
  assert.equal(buildTypeFlag(p(['all'])), '-A');
  assert.equal(buildTypeFlag({ source: 's', version: '1', architecture: 'all' }), '-A');
  assert.equal(buildPathOf({ source: 'hello', version: '1:2.10-3', architecture: 'amd64' }), '/build/hello-2.10');
});

test('toolchain drift: build dependencies whose installed version differs from the buildinfo', () => {
  const log = 'x\nreprod-deb-package: make 4.3-4.1\nreprod-deb-package: gcc-12 12.2.0-14\n';
  const want = [
    { name: 'make', version: '4.3-4' },
    { name: 'gcc-12', version: '12.2.0-14' },
    { name: 'bison', version: '2:3.8.2+dfsg-1' },
  ];
  assert.deepEqual(toolchainDrift(want, packagesFromLog(log)), ['make 4.3-4.1 (buildinfo: 4.3-4)', 'bison (not installed) (buildinfo: 2:3.8.2+dfsg-1)']);
  assert.deepEqual(toolchainDrift(want, packagesFromLog('no package list')), []);
  assert.deepEqual(debian.notesAfterBuild!({ limits: {} as never, commitTime: 0, debian: { installedBuildDepends: want } as never }, log), [
    'toolchain drift: make 4.3-4.1 (buildinfo: 4.3-4)',
    'toolchain drift: bison (not installed) (buildinfo: 2:3.8.2+dfsg-1)',
  ]);
});

test('faked clocks start at the given second, in UTC', () => {
  assert.equal(faketimeStart(Date.parse('Tue, 05 Mar 2024 12:00:01 +0000') / 1000), '2024-03-05 12:00:01');
});
