import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bisect } from '../../src/check/bisect.ts';
import { VARIATIONS } from '../../src/check/variations.ts';

/** An oracle for a build that differs when every variation of some culprit set is applied. */
function oracleFor(culprits: string[][]) {
  const calls: string[][] = [];
  const oracle = async (set: string[]) => {
    calls.push(set);
    return culprits.some((c) => c.every((v) => set.includes(v)));
  };
  return { oracle, calls };
}

const ALL = [...VARIATIONS];

test('a single culprit among all variations is found in few builds', async () => {
  let total = 0;
  for (const culprit of ALL) {
    const { oracle, calls } = oracleFor([[culprit]]);
    const r = await bisect(ALL, true, oracle);
    assert.deepEqual(r.culprits, [[culprit]]);
    assert.deepEqual([...r.stable].sort(), ALL.filter((v) => v !== culprit).sort());
    assert.equal(r.builds, calls.length);
    // At most two tests per halving (log2(14) rounds to 4), plus the check that the rest is stable.
    assert.ok(r.builds <= 9, `${culprit}: ${r.builds} builds`);
    total += r.builds;
  }
  assert.ok(total / ALL.length <= 7, `mean ${total / ALL.length} builds`);
});

test('parallel bisection builds the halves at the same time', async () => {
  let running = 0;
  let peak = 0;
  const oracle = async (set: string[]) => {
    running += 1;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 5));
    running -= 1;
    return set.includes('kernel');
  };
  const r = await bisect(ALL, true, oracle, { parallel: 2 });
  assert.deepEqual(r.culprits, [['kernel']]);
  assert.equal(peak, 2);
  assert.equal(running, 0, 'every speculative build has finished when bisect returns');
});

test('a reproducible build costs no bisection builds', async () => {
  const { oracle, calls } = oracleFor([]);
  const r = await bisect(ALL, false, oracle);
  assert.deepEqual(r.culprits, []);
  assert.deepEqual(r.stable, ALL);
  assert.equal(calls.length, 0);
});

test('two independent culprits are both named; a pair that only breaks together stays a pair', async () => {
  const r1 = await bisect(ALL, true, oracleFor([['hostname'], ['umask']]).oracle);
  assert.deepEqual(r1.culprits.map((c) => c.join()).sort(), ['hostname', 'umask']);
  const r2 = await bisect(ALL, true, oracleFor([['locale', 'fs-order']]).oracle);
  assert.deepEqual(r2.culprits, [['fs-order', 'locale']]);
});

test('property: every culprit set found is minimal and really differs; no configuration is built twice', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.subarray(ALL, { minLength: 1, maxLength: 3 }), { maxLength: 3 }), fc.integer({ min: 1, max: 3 }), async (culprits, parallel) => {
      const { oracle, calls } = oracleFor(culprits);
      const differs = (s: string[]) => culprits.some((c) => c.every((v) => s.includes(v)));
      const r = await bisect(ALL, differs(ALL), oracle, { parallel });
      // Speculative builds change the cost, never the answer.
      const sequential = await bisect(ALL, differs(ALL), oracleFor(culprits).oracle);
      assert.deepEqual(r.culprits, sequential.culprits);
      assert.ok(r.builds >= sequential.builds);
      for (const c of r.culprits) {
        assert.ok(differs(c));
        for (const v of c) assert.ok(!differs(c.filter((x) => x !== v)), `${c} is not minimal`);
      }
      assert.ok(!differs(r.stable));
      const keys = calls.map((c) => [...c].sort().join());
      assert.equal(new Set(keys).size, keys.length);
    }),
    { numRuns: 200 },
  );
});
