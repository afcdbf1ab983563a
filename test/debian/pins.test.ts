import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dependencyNames, debianRecipe, pinnedIncludes } from '../../src/build/debian-image.ts';
import { parseMirrorLines, resolvePins, versionsIn } from '../../src/inputs/debian/available.ts';

test('recorded versions against the mirror: kept, replaced by the newest (drift) or missing', () => {
  const available = versionsIn(['Package: make\nVersion: 4.3-4.1\n\nPackage: libc6\nVersion: 2.36-9+deb12u7\n', 'Package: libc6\nVersion: 2.36-9+deb12u14\n\nPackage: other\nVersion: 1\n'], new Set(['make', 'libc6', 'gone']));
  assert.deepEqual([...available.keys()].sort(), ['libc6', 'make']);
  const r = resolvePins(
    [
      { name: 'make', version: '4.3-4.1' },
      { name: 'libc6', version: '2.36-9+deb12u4' },
      { name: 'gone', version: '1.0' },
    ],
    available,
  );
  assert.deepEqual(r.packages, [
    { name: 'make', version: '4.3-4.1' },
    { name: 'libc6', version: '2.36-9+deb12u14' },
  ]);
  assert.deepEqual(r.drift, ['libc6 2.36-9+deb12u4 → 2.36-9+deb12u14']);
  assert.deepEqual(r.missing, ['gone 1.0']);
});

test('mirror lines and Build-Depends are read like apt does', () => {
  assert.deepEqual(parseMirrorLines(['deb [check-valid-until=no] http://m/debian bookworm main contrib', '# x', 'deb-src http://m/debian bookworm main']), [
    { uri: 'http://m/debian', suite: 'bookworm', component: 'main' },
    { uri: 'http://m/debian', suite: 'bookworm', component: 'contrib' },
  ]);
  const deps = 'debhelper-compat (= 13), libfoo-dev (>= 1.2) | libbar-dev, libsystemd-dev [linux-any], libkvm-dev [kfreebsd-any], check <!nocheck>, docs-only <pkg.foo.docs>, python3:any';
  assert.deepEqual(dependencyNames(deps, 'amd64'), ['check', 'debhelper-compat', 'libfoo-dev', 'libsystemd-dev', 'python3']);
});

test('the image recipe pins name=version, adds faketime, and its hash follows the versions', () => {
  const pins = pinnedIncludes([{ name: 'make', version: '4.3-4.1' }, { name: 'make', version: '4.3-4.1' }, { name: 'bash', version: '5.2.15-2+b13' }]);
  assert.deepEqual(pins, ['make=4.3-4.1', 'bash=5.2.15-2+b13']);
  const a = debianRecipe('bookworm', pins);
  assert.deepEqual(a.packages, ['bash=5.2.15-2+b13', 'faketime', 'make=4.3-4.1']);
  assert.equal(a.hash, debianRecipe('bookworm', [...pins].reverse()).hash);
  assert.notEqual(a.hash, debianRecipe('bookworm', ['make=4.3-4', 'bash=5.2.15-2+b13']).hash);
});

test('daemon labels: Debian jobs need the debian rebuilder on the build architecture', async () => {
  const { jobRequirements } = await import('../../src/daemon/labels.ts');
  const { DEBIAN_BUILD_TYPE } = await import('../../src/inputs/debian/claim.ts');
  const claim = { statementType: 'debian', predicateType: 'debian:buildinfo', subjects: [], buildType: DEBIAN_BUILD_TYPE, builderId: 'debian:buildinfo', externalParameters: { source: 'x', version: '1', architecture: 'arm64' }, resolvedDependencies: [] };
  assert.deepEqual(jobRequirements(claim, 'x-data_1_all.deb'), { rebuilder: 'debian', arch: 'arm64' });
});

test('a snapshot mirror becomes one apt line without the Valid-Until check', async () => {
  const { snapshotMirrorLines } = await import('../../src/pipeline/debian-stage.ts');
  assert.deepEqual(snapshotMirrorLines('http://snapshot.example/archive/debian/20240305T000000Z/', 'bookworm'), [
    'deb [check-valid-until=no] http://snapshot.example/archive/debian/20240305T000000Z bookworm main',
  ]);
});
