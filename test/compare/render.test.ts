import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderReport } from '../../src/compare/render.ts';
import { cause } from '../../src/compare/classify.ts';
import type { DiffReport, Difference } from '../../src/compare/model.ts';

function report(n: number): DiffReport {
  const differences: Difference[] = Array.from({ length: n }, (_, i) => ({
    path: ['pkg.tgz', 'pkg.tar', `package/f${i}.js`, 'inner.txt'], // distinct parents: not grouped
    kind: 'content',
    causes: [cause('embedded-timestamp', `2026-11-22 ⇢ 2026-11-23 (${i})`)],
    unifiedDiff: `--- a\n+++ b\n@@ -1 +1 @@\n-// built 2026-11-22 <script>\n+// built 2026-11-23\n${'x'.repeat(300)}\n`,
  }));
  differences.push({ path: ['pkg.tgz', 'pkg.tar'], kind: 'metadata', causes: [cause('archive-mtime', 'mtime on 5000 members')], details: { field: 'mtime', members: 5000 } });
  return { reprodDiffVersion: 1, source1: 'a/pkg.tgz', source2: 'b/pkg.tgz', identical: false, differences, summary: { byCause: { 'embedded-timestamp': n, 'archive-mtime': 1 }, differences: n + 1 }, truncated: false };
}

test('json is the report itself, parseable, with the version and the summary', () => {
  const r = report(3);
  assert.deepEqual(JSON.parse(renderReport(r, 'json')), r);
});

test('text: paths outermost first, causes with fixes, coloured only when asked', () => {
  const plain = renderReport(report(2), 'text');
  assert.match(plain, /pkg\.tgz › pkg\.tar › package\/f0\.js/);
  assert.match(plain, /embedded-timestamp \(2\)\s+fix: honour SOURCE_DATE_EPOCH/);
  assert.ok(!plain.includes('\x1b['));
  assert.ok(renderReport(report(2), 'text', { color: true }).includes('\x1b[32m'));
});

test('html: one self-contained page with a collapsible tree and a per-cause summary, names escaped', () => {
  const html = renderReport(report(2), 'html');
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /<style>/);
  assert.ok(!/<link|<script|src=|https?:/.test(html.replace(/&#60;script/g, '')), 'no external assets');
  assert.match(html, /<details open><summary><code>pkg\.tgz<\/code>/);
  assert.match(html, /<table><tr><th>cause<\/th>/);
  assert.ok(html.includes('&#60;script&#62;'));
});

test('a report over --max-report-bytes is cut and says what it left out', () => {
  for (const format of ['text', 'json', 'html'] as const) {
    const out = renderReport(report(500), format, { maxBytes: 20_000 });
    assert.ok(Buffer.byteLength(out) <= 20_000, `${format}: ${Buffer.byteLength(out)}`);
    assert.match(out, /differences left out to fit 20000 bytes/);
  }
  const j = JSON.parse(renderReport(report(500), 'json', { maxBytes: 20_000 })) as DiffReport;
  assert.equal(j.truncated, true);
  assert.ok(j.differences.length > 0 && j.differences.length < 501);
});

test('terminal control characters in hostile member names are escaped in text', () => {
  const r = report(1);
  r.differences[0]!.path = ['x.tar', '../../\x1b[2Jevil'];
  const out = renderReport(r, 'text');
  assert.ok(!out.includes('\x1b[2J'));
  assert.ok(out.includes('\\x1b[2Jevil'));
});
