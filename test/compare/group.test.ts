import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cause } from '../../src/compare/classify.ts';
import { groupReport } from '../../src/compare/group.ts';
import type { DiffReport, Difference } from '../../src/compare/model.ts';

test('the same cause across 5,000 members is one grouped finding; other differences stay as they are', () => {
  const many: Difference[] = Array.from({ length: 5000 }, (_, i) => ({
    path: ['a.tar.gz', 'a.tar', `doc/f${i}.html`],
    kind: 'content',
    causes: [cause('embedded-timestamp', `2026-11-22 ⇢ 2026-11-23`)],
    unifiedDiff: `-2026-11-22\n+2026-11-23\n`,
  }));
  const other: Difference = { path: ['a.tar.gz', 'a.tar', 'bin/x'], kind: 'content', causes: [cause('build-path', '/build/a ⇢ /tmp/b')] };
  const r: DiffReport = { reprodDiffVersion: 1, source1: 'a', source2: 'b', identical: false, differences: [...many, other], summary: { byCause: { 'embedded-timestamp': 5000, 'build-path': 1 }, differences: 5001 }, truncated: false };
  const g = groupReport(r);
  assert.equal(g.differences.length, 2);
  const grouped = g.differences[0]!;
  assert.deepEqual(grouped.path, ['a.tar.gz', 'a.tar', '(5000 members)']);
  assert.equal((grouped.details as { members: number }).members, 5000);
  assert.match(grouped.causes[0]!.evidence, /^5000 members, e\.g\. doc\/f0\.html/);
  assert.deepEqual(g.differences[1], other);
  assert.deepEqual(g.summary.byCause, { 'embedded-timestamp': 1, 'build-path': 1 });
});
