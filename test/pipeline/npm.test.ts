import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { rebuildAttestation } from '../../src/pipeline/rebuild.ts';
import { rebuildWorld, type RebuildWorld } from '../support/rebuild-world.ts';

// The npm rebuilder end to end: npm provenance (buildType gha/v2) for the fixture
// package, `npm ci --ignore-scripts` in the fetch phase, build script + `npm pack`
// with the network off, compared on the sha512 npm publishes.
let world: RebuildWorld;
before(async () => {
  world = await rebuildWorld(['npm-pkg']);
});
after(() => world?.cleanup());

test('an npm package with a build step reproduces from its npm provenance', async () => {
  const c = world.caseNamed('npm-pkg');
  const [v] = await rebuildAttestation(await readFile(c.attestation), world.ctx, { uri: c.attestation });
  assert.equal(v!.outcome, 'reproduced', JSON.stringify(v!.error));
  assert.match(v!.subject.sha256, /^[0-9a-f]{64}$/);
  const verdict = JSON.parse(await readFile(join(v!.dir, 'verdict.json'), 'utf8')) as { plan: { rebuilder: string; runtimeEnv: string[]; env: Record<string, string> }; notes: string[] };
  assert.equal(verdict.plan.rebuilder, 'npm');
  // The override file's env reached the build, and the registry URL never entered the stored plan.
  assert.equal(verdict.plan.env.BUILD_FLAVOR, 'release');
  assert.equal(verdict.plan.env.NPM_CONFIG_REGISTRY, undefined);
  assert.ok(verdict.notes.some((n) => /override applied/.test(n)));
});
