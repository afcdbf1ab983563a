import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { VerifiedClaim } from '../../src/attest/types.ts';
import { isReprodError } from '../../src/errors.ts';
import type { PlanFacts, Rebuilder } from '../../src/plan/rebuilder.ts';

/**
 * Table-driven golden tests for a rebuilder: every `testdata/<case>.input.json`
 * ({claim, facts}) must plan to `<case>.plan.json`, or fail with the code in
 * `<case>.error.json`. `UPDATE_GOLDEN=1` rewrites the plan files (review the diff).
 */
export function goldenPlanTests(rebuilder: Rebuilder, dir: string): void {
  const cases = readdirSync(dir).filter((f) => f.endsWith('.input.json')).sort();
  assert.ok(cases.length > 0, `no golden cases in ${dir}`);
  for (const file of cases) {
    const name = file.slice(0, -'.input.json'.length);
    test(`${rebuilder.name} golden: ${name}`, () => {
      const input = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { claim: VerifiedClaim; facts: PlanFacts };
      const errorFile = join(dir, `${name}.error.json`);
      if (existsSync(errorFile)) {
        const { code } = JSON.parse(readFileSync(errorFile, 'utf8')) as { code: string };
        assert.throws(() => rebuilder.plan(input.claim, input.facts), (e) => isReprodError(e) && e.code === code);
        return;
      }
      const plan = rebuilder.plan(input.claim, input.facts);
      const planFile = join(dir, `${name}.plan.json`);
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(planFile, `${JSON.stringify(plan, null, 2)}\n`);
      assert.deepEqual(JSON.parse(JSON.stringify(plan)), JSON.parse(readFileSync(planFile, 'utf8')));
      // The plan is data: it must survive a JSON round trip unchanged.
      assert.deepEqual(JSON.parse(JSON.stringify(plan)), plan);
    });
  }
}
