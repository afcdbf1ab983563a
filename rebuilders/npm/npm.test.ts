import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isReprodError } from '../../src/errors.ts';
import { rebuilderFor } from '../../src/plan/registry.ts';
import { loadOverride } from '../../src/plan/overrides.ts';
import { goldenPlanTests } from '../../test/support/golden.ts';
import { npm, npmPackageId } from './index.ts';

// The real-provenance case is the npm registry's attestation in
// fixtures/upstream/slsa-verifier (a @laurentsimon package), as intake normalises it.
goldenPlanTests(npm, fileURLToPath(new URL('testdata/', import.meta.url)));

test('npm package URLs map to the tarball npm pack writes', () => {
  assert.deepEqual(npmPackageId('pkg:npm/%40laurentsimon/provenance-npm-test@1.0.0'), {
    name: '@laurentsimon/provenance-npm-test',
    version: '1.0.0',
    tarball: 'laurentsimon-provenance-npm-test-1.0.0.tgz',
  });
  assert.equal(npmPackageId('pkg:npm/left-pad@1.3.0').tarball, 'left-pad-1.3.0.tgz');
  assert.throws(() => npmPackageId('pkg:npm/../../x@1'), (e) => isReprodError(e, 'PLAN_INVALID'));
});

test('the registry picks rebuilders by buildType; unknown is UNKNOWN_BUILD_TYPE', () => {
  assert.equal(rebuilderFor('https://github.com/npm/cli/gha/v2'), npm);
  assert.equal(rebuilderFor('https://reprod.dev/buildtypes/container/v1').name, 'container');
  assert.throws(() => rebuilderFor('https://example.test/mystery/v1'), (e) => isReprodError(e, 'UNKNOWN_BUILD_TYPE'));
});

test('override files are data with a reason; names from attestations cannot escape', async () => {
  const o = await loadOverride('npm', ['reprod-fixture-npm', '1.0.0']);
  assert.ok(o?.why);
  assert.equal(o?.env?.BUILD_FLAVOR, 'release');
  assert.equal(await loadOverride('npm', ['..', '..', 'package']), undefined);
  assert.equal(await loadOverride('npm', ['no-such-package', '1.0.0']), undefined);
});

test('after the build, differing node/npm versions become notes (never failures)', () => {
  const facts = { limits: {} as never, commitTime: 0, npm: { npmVersion: '10.8.2', nodeVersion: 'v20.17.0' } };
  const log = 'added 0 packages\nreprod-tools: node=v18.19.0 npm=9.2.0\n';
  assert.deepEqual(npm.notesAfterBuild!(facts, log), [
    'upstream packed with npm 10.8.2; the builder image has npm 9.2.0',
    'upstream packed with node v20.17.0; the builder image has node 18.19.0',
  ]);
  assert.deepEqual(npm.notesAfterBuild!({ ...facts, npm: { npmVersion: '9.2.0', nodeVersion: '18.19.0' } }, log), []);
  assert.deepEqual(npm.notesAfterBuild!(facts, 'no marker'), []);
});

test('intake\'s claim of the real npm provenance plans to the golden plan', async () => {
  const { readFileSync } = await import('node:fs');
  const { parseAttestation, claimFromPayload } = await import('../../src/attest/index.ts');
  const file = fileURLToPath(new URL('../../fixtures/upstream/slsa-verifier/npm-attestations.intoto.sigstore', import.meta.url));
  const env = parseAttestation(readFileSync(file)).envelopes[0]!;
  const claim = claimFromPayload(env.$case === 'bundle' ? env.dsse!.payload : env.dsse.payload);
  const golden = (n: string) => JSON.parse(readFileSync(fileURLToPath(new URL(`testdata/real-provenance-v02.${n}.json`, import.meta.url)), 'utf8'));
  const input = golden('input') as { claim: Parameters<typeof npm.plan>[0]; facts: Parameters<typeof npm.plan>[1] };
  const plan = npm.plan({ ...input.claim, claim }, input.facts);
  const expected = golden('plan') as ReturnType<typeof npm.plan>;
  assert.deepEqual(plan.source, expected.source);
  assert.deepEqual(plan.outputs, expected.outputs);
  assert.deepEqual(plan.build, expected.build);
});
