import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { diffReport } from '../../src/pipeline/report.ts';

// Toolchain drift is a fact of the build (a build dependency's version), not of the bytes:
// the pipeline hands it to the report, which names it beside the causes the diff engine finds.
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reprod-drift-'));
  await writeFile(join(dir, 'a.txt'), 'built on 2024-03-05\n');
  await writeFile(join(dir, 'b.txt'), 'built on 2026-12-02\n');
});
after(() => rm(dir, { recursive: true, force: true }));

const input = (drift?: string[], upstream = true) => ({
  subject: { name: 'x_1_all.deb', sha256: 'a'.repeat(64) },
  expected: { sha256: 'a'.repeat(64) },
  rebuiltDigests: { sha256: 'b'.repeat(64) },
  rebuiltPath: join(dir, 'b.txt'),
  upstreamPath: upstream ? join(dir, 'a.txt') : undefined,
  ...(drift ? { drift } : {}),
});

test('a mismatch with drifted build dependencies names toolchain-drift first, beside the byte-level causes', async () => {
  const { report, causes } = await diffReport(input(['make 4.3-4.1 (buildinfo: 4.3-4)']));
  const json = JSON.parse(report.json) as { differences: { causes: { cause: string; evidence: string }[] }[]; summary: { byCause: Record<string, number> } };
  assert.equal(json.differences[0]!.causes[0]!.cause, 'toolchain-drift');
  assert.match(json.differences[0]!.causes[0]!.evidence, /make 4\.3-4\.1 \(buildinfo: 4\.3-4\)/);
  assert.equal(json.summary.byCause['toolchain-drift'], 1);
  assert.ok(json.differences.some((d) => d.causes.some((c) => c.cause === 'embedded-timestamp')));
  assert.match(report.text, /toolchain-drift/);
  assert.deepEqual(causes.map((c) => c.kind).sort(), ['embedded-timestamp', 'toolchain-drift']);
});

test('without drift the report has no such finding; without the upstream file drift is still named', async () => {
  const plain = await diffReport(input());
  assert.ok(!plain.report.json.includes('toolchain-drift'));
  const digestOnly = await diffReport(input(['gcc-12 12.2.0-14+deb12u1 (buildinfo: 12.2.0-14)'], false));
  assert.deepEqual(digestOnly.causes.map((c) => c.kind), ['toolchain-drift', 'unknown']);
});
