import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareLeaf } from '../../src/compare/leaves.ts';
import { parseElf } from '../../src/compare/elf.ts';
import { DEFAULT_LIMITS } from '../../src/compare/model.ts';
import { sniff } from '../../src/compare/sniff.ts';

const leaf = (a: Buffer | string, b: Buffer | string) => {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return compareLeaf(sniff(ba), ba, bb, ['x'], DEFAULT_LIMITS, {});
};

test('text: a line-level unified diff with context, and the cause of the changed line', () => {
  const a = ['one', 'two', 'built Sun Nov 22 10:00:01 2026', 'four', 'five'].join('\n');
  const d = leaf(a, a.replace('Nov 22 10:00:01', 'Nov 23 09:12:44'));
  assert.equal(d.kind, 'content');
  assert.match(d.unifiedDiff!, /^@@ -1,5 \+1,5 @@/m);
  assert.match(d.unifiedDiff!, /^-built Sun Nov 22 10:00:01 2026$/m);
  assert.match(d.unifiedDiff!, /^\+built Sun Nov 23 09:12:44 2026$/m);
  assert.match(d.unifiedDiff!, /^ two$/m);
  assert.deepEqual(d.causes.map((c) => c.cause), ['embedded-timestamp']);
});

test('JSON: key order alone is reported as map-order, not as a value change', () => {
  const d = leaf('{"name":"p","version":"1.0.0","deps":{"a":1,"b":2}}', '{"version":"1.0.0","name":"p","deps":{"b":2,"a":1}}');
  assert.deepEqual(d.causes.map((c) => c.cause), ['map-order']);
  assert.equal((d.details as { keyOrderOnly: boolean }).keyOrderOnly, true);
});

test('JSON: changed values are listed by path and classified', () => {
  const d = leaf('{"name":"p","builtAt":"2026-11-22T10:00:00Z","n":1}', '{"n":1,"name":"p","builtAt":"2026-11-23T08:00:00Z"}');
  const changed = (d.details as { changed: { path: string }[] }).changed;
  assert.deepEqual(changed.map((c) => c.path), ['.builtAt']);
  assert.ok(d.causes.some((c) => c.cause === 'embedded-timestamp'));
});

test('binary: differing offset ranges with hex context, and the cause from printable strings', () => {
  const a = Buffer.concat([Buffer.alloc(100, 1), Buffer.from('\0tmpdir=/tmp/build-aaaa1/src\0'), Buffer.alloc(100, 2)]);
  const b = Buffer.concat([Buffer.alloc(100, 1), Buffer.from('\0tmpdir=/tmp/build-bbbb2/src\0'), Buffer.alloc(100, 2)]);
  const d = leaf(a, b);
  const ranges = (d.details as { ranges: { offset: number; length: number }[] }).ranges;
  assert.equal(ranges[0]!.offset, 100 + '\0tmpdir=/tmp/build-'.length);
  assert.match(d.unifiedDiff!, /^- 000000[0-9a-f]{2}: /m);
  assert.ok(d.causes.some((c) => c.cause === 'build-path'), JSON.stringify(d.causes));
});

test('ELF built with a different SOURCE_DATE_EPOCH: .rodata differs, build-id differs as a consequence of an embedded timestamp', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-elf-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'm.c'), '#include <stdio.h>\nint main(void){puts("built " __DATE__ " " __TIME__);return 0;}\n');
  const build = (out: string, epoch: string) =>
    execFileSync('gcc', ['-O1', '-Wl,--build-id', '-Wno-date-time', '-o', join(dir, out), join(dir, 'm.c')], { env: { ...process.env, SOURCE_DATE_EPOCH: epoch } });
  build('a', '1700000000');
  build('b', '1700100000');
  const [a, b] = await Promise.all([readFile(join(dir, 'a')), readFile(join(dir, 'b'))]);
  assert.equal(sniff(a), 'elf');
  assert.ok(parseElf(a)!.buildId, 'the linker wrote a build-id');
  const d = compareLeaf('elf', a, b, ['a'], DEFAULT_LIMITS, {});
  const details = d.details as { sections: string[]; buildIds: string[] };
  assert.ok(details.sections.includes('.rodata'), details.sections.join(','));
  assert.notEqual(details.buildIds[0], details.buildIds[1]);
  const causes = d.causes.map((c) => c.cause);
  assert.ok(causes.includes('embedded-timestamp'), causes.join(','));
  const bid = d.causes.find((c) => c.cause === 'build-id');
  assert.ok(bid && /embedded-timestamp/.test(bid.evidence), 'build-id points to the real cause');
});

test('ELF: a build year compiled in as a number is an embedded timestamp; a differing debug link is a consequence, not randomness', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-elf-year-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'v.c'), '#include <stdio.h>\nint main(void){printf("(C) %d\\n", YEAR);return 0;}\n');
  const build = async (out: string, year: number, debugName: string) => {
    execFileSync('gcc', ['-O1', '-g', '-Wl,--build-id', `-DYEAR=${year}`, '-o', join(dir, out), join(dir, 'v.c')]);
    // Debian-style detached debug file named after a hex id, linked from the binary.
    execFileSync('objcopy', ['--only-keep-debug', join(dir, out), join(dir, debugName)]);
    execFileSync('objcopy', ['--strip-debug', `--add-gnu-debuglink=${join(dir, debugName)}`, join(dir, out)]);
  };
  await build('a', 2022, '3f6a9c0e5d1b2a4c8e7f.debug');
  await build('b', 2026, 'c81d4e2b7a9f0e3d6c5b.debug');
  const [a, b] = await Promise.all([readFile(join(dir, 'a')), readFile(join(dir, 'b'))]);
  const d = compareLeaf('elf', a, b, ['a'], DEFAULT_LIMITS, {});
  const sections = (d.details as { sections: string[] }).sections;
  assert.ok(sections.includes('.gnu_debuglink'), sections.join(','));
  const causes = d.causes.map((c) => c.cause);
  assert.ok(!causes.includes('randomness'), JSON.stringify(d.causes));
  const ts = d.causes.find((c) => c.cause === 'embedded-timestamp');
  assert.ok(ts && /2022 → 2026/.test(ts.evidence), JSON.stringify(d.causes));
  assert.match(d.causes.find((c) => c.cause === 'build-id')!.evidence, /embedded-timestamp/);
});
