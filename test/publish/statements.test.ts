import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import * as inputs from '../../fixtures/publish/inputs.ts';
import { rebuildProvenance, REPRODUCED_LEVEL, vsaStatement } from '../../src/publish/statements.ts';

// REPROD_UPDATE_GOLDEN=1 rewrites the expected files; review the diff before committing.
function golden(name: string, actual: unknown): void {
  const url = new URL(`../../fixtures/publish/${name}.json`, import.meta.url);
  const text = `${JSON.stringify(actual, null, 2)}\n`;
  if (process.env.REPROD_UPDATE_GOLDEN === '1') writeFileSync(url, text);
  assert.equal(text, readFileSync(url, 'utf8'), `${name} differs from its golden file`);
}

test('VSA for a reproduced subject: PASSED with the reproduced level', () => {
  const s = vsaStatement(inputs.vsaReproduced);
  golden('vsa-reproduced', s);
  assert.equal(s.predicate.verificationResult, 'PASSED');
  assert.deepEqual(s.predicate.verifiedLevels, ['SLSA_BUILD_LEVEL_2', REPRODUCED_LEVEL]);
  assert.deepEqual(s.predicate.inputAttestations[0]?.digest, { sha256: 'd'.repeat(64) });
  assert.equal(s.predicate.verifier.id, inputs.vsaReproduced.verifierId);
});

test('VSA for a mismatch: FAILED, never the reproduced level, carries the causes', () => {
  const s = vsaStatement(inputs.vsaNotReproduced);
  golden('vsa-not-reproduced', s);
  assert.equal(s.predicate.verificationResult, 'FAILED');
  assert.ok(!s.predicate.verifiedLevels.includes(REPRODUCED_LEVEL));
  assert.equal(s.predicate.reprod.outcome, 'not-reproduced');
  assert.equal(s.predicate.reprod.rebuiltSha256, 'e'.repeat(64));
  assert.equal(s.predicate.reprod.causes?.length, 2);
});

test('VSA for an error: FAILED with outcome error and the error code', () => {
  const s = vsaStatement(inputs.vsaError);
  golden('vsa-error', s);
  assert.equal(s.predicate.verificationResult, 'FAILED');
  assert.equal(s.predicate.reprod.outcome, 'error');
  assert.equal(s.predicate.reprod.error?.code, 'BUILD_FAILED');
  assert.equal(s.predicate.reprod.causes, undefined);
});

test('rebuild provenance carries the plan, source, image, timings and byproducts', () => {
  const s = rebuildProvenance(inputs.provenanceReproduced);
  golden('provenance-reproduced', s);
  const p = s.predicate as any;
  assert.equal(p.buildDefinition.buildType, 'https://reprod.dev/buildtypes/rebuild/v1');
  assert.deepEqual(p.buildDefinition.externalParameters.plan, inputs.plan);
  assert.deepEqual(p.buildDefinition.resolvedDependencies[0].digest, { gitCommit: inputs.plan.source.commit });
  assert.deepEqual(p.buildDefinition.resolvedDependencies[1].digest, { sha256: 'b'.repeat(64) });
  assert.equal(p.runDetails.metadata.invocationId, 'job-0001');
  assert.deepEqual(p.runDetails.byproducts[0].digest, { sha256: '1'.repeat(64) });
});

test('rebuild provenance of an error names the upstream digest and job times', () => {
  const s = rebuildProvenance(inputs.provenanceError);
  golden('provenance-error', s);
  assert.deepEqual(s.subject[0]?.digest, { sha256: 'a'.repeat(64) });
  const p = s.predicate as any;
  assert.equal(p.buildDefinition.internalParameters.outcome, 'error');
  assert.equal(p.runDetails.metadata.finishedOn, '2026-01-02T03:00:07Z');
  assert.deepEqual(p.runDetails.byproducts, []);
});

test('same input, same bytes', () => {
  assert.equal(JSON.stringify(vsaStatement(inputs.vsaReproduced)), JSON.stringify(vsaStatement({ ...inputs.vsaReproduced })));
});
