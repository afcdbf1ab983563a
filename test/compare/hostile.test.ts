import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, readdir, rm, stat } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import { diffFiles } from '../../src/compare/index.ts';
import { isReprodError } from '../../src/errors.ts';
import { tarBuffer, ustarHeader } from '../support/archives.ts';

const dir = await mkdtemp(join(tmpdir(), 'reprod-diff-hostile-'));
test.after(() => rm(dir, { recursive: true, force: true }));

async function files(name: string, a: Buffer, b: Buffer): Promise<[string, string]> {
  const pa = join(dir, `${name}.a`);
  const pb = join(dir, `${name}.b`);
  await writeFile(pa, a);
  await writeFile(pb, b);
  return [pa, pb];
}

const zeros = Buffer.alloc(64 * 1024 * 1024);

test('decompression bomb (ratio): ARCHIVE_LIMIT at top level, a truncated report when nested', async () => {
  const bombA = gzipSync(zeros, { level: 9 });
  const bombB = gzipSync(Buffer.concat([zeros, Buffer.from('x')]), { level: 9 });
  const [a, b] = await files('bomb', bombA, bombB);
  await assert.rejects(diffFiles(a, b), (e) => isReprodError(e, 'ARCHIVE_LIMIT'));
  const [ta, tb] = await files('bomb-in-tar', await tarBuffer([{ name: 'inner.gz', body: bombA }]), await tarBuffer([{ name: 'inner.gz', body: bombB }]));
  const r = await diffFiles(ta, tb);
  assert.equal(r.truncated, true);
  assert.match(r.omitted?.join('\n') ?? '', /ARCHIVE_LIMIT/);
});

test('decompression bomb (absolute cap): ARCHIVE_LIMIT', async () => {
  const big = Buffer.alloc(4 * 1024 * 1024, 'abcdefghij');
  const [a, b] = await files('cap', gzipSync(big), gzipSync(Buffer.concat([big, Buffer.from('!')])));
  await assert.rejects(diffFiles(a, b, { limits: { maxDecompressedBytes: 1024 * 1024 } }), (e) => isReprodError(e, 'ARCHIVE_LIMIT'));
});

test('path traversal names and absolute symlinks are reported, never written or followed', async () => {
  const evil = (body: string, target: string) =>
    tarBuffer([
      { name: '../../../../tmp/reprod-evil-owned', body },
      { name: '/etc/reprod-evil', body },
      { name: 'link', type: 'symlink', linkname: target },
    ]);
  const before = await readdir(dir);
  const [a, b] = await files('traversal', await evil('one\n', '/etc/passwd'), await evil('two\n', '../../../../etc/shadow'));
  const r = await diffFiles(a, b);
  const paths = r.differences.map((d) => d.path[d.path.length - 1]);
  assert.ok(paths.includes('../../../../tmp/reprod-evil-owned'));
  assert.ok(paths.includes('/etc/reprod-evil'));
  const link = r.differences.find((d) => d.path[1] === 'link');
  assert.equal(link?.kind, 'metadata');
  assert.deepEqual((link?.details as { fields: Record<string, unknown> }).fields.linkname, ['/etc/passwd', '../../../../etc/shadow']);
  await assert.rejects(stat('/tmp/reprod-evil-owned'));
  await assert.rejects(stat('/etc/reprod-evil'));
  assert.deepEqual((await readdir(dir)).filter((f) => !before.includes(f)).sort(), ['traversal.a', 'traversal.b']);
});

test('malformed input: a truncated gzip is ARCHIVE_MALFORMED; a corrupt nested tar is a truncated report', async () => {
  const good = gzipSync(await tarBuffer([{ name: 'x', body: 'x'.repeat(100_000) }]));
  const [a, b] = await files('trunc', good, good.subarray(0, good.length - 200));
  await assert.rejects(diffFiles(a, b), (e) => isReprodError(e, 'ARCHIVE_MALFORMED'));
  const tarA = await tarBuffer([{ name: 'x', body: 'a' }]);
  const corrupt = Buffer.from(tarA);
  corrupt.write('garbage!', 148, 'latin1'); // header checksum
  const [ta, tb] = await files('corrupt', await tarBuffer([{ name: 'in.tar', body: tarA }]), await tarBuffer([{ name: 'in.tar', body: corrupt }]));
  const r = await diffFiles(ta, tb);
  assert.equal(r.identical, false);
});

test('deep nesting: past maxDepth members are compared as opaque bytes, the report says so', async () => {
  const nest = async (leaf: string) => {
    let buf = Buffer.from(leaf);
    for (let i = 0; i < 12; i++) buf = gzipSync(await tarBuffer([{ name: `level${i}.bin`, body: buf }]));
    return buf;
  };
  const [a, b] = await files('deep', await nest('one\n'), await nest('two\n'));
  const r = await diffFiles(a, b);
  assert.equal(r.identical, false);
  assert.equal(r.truncated, true);
  assert.match(r.omitted?.join('\n') ?? '', /deeper than 8/);
  assert.ok(Math.max(...r.differences.map((d) => d.path.length)) <= 2 + 8 * 2);
});

async function manyMembers(path: string, n: number, odd: number): Promise<void> {
  async function* chunks() {
    for (let i = 0; i < n; i += 1000) {
      const parts: Buffer[] = [];
      for (let j = i; j < Math.min(n, i + 1000); j++) {
        if (j === odd) {
          const body = Buffer.alloc(512);
          body.write('different\n');
          parts.push(ustarHeader(`m/${j}`, 10), body);
        } else parts.push(ustarHeader(`m/${j}`, 0));
      }
      yield Buffer.concat(parts);
    }
    yield Buffer.alloc(1024);
  }
  await pipeline(chunks, createGzip({ level: 1 }), createWriteStream(path));
}

test('200k-member tar.gz: finishes, finds the one differing member; maxMembers bounds it', async () => {
  const a = join(dir, 'many.a.tgz');
  const b = join(dir, 'many.b.tgz');
  await manyMembers(a, 200_000, -1);
  await manyMembers(b, 200_000, 123_456);
  const r = await diffFiles(a, b);
  assert.deepEqual(r.differences.map((d) => d.path[d.path.length - 1]), ['m/123456']);
  await assert.rejects(diffFiles(a, b, { limits: { maxMembers: 10_000 } }), (e) => isReprodError(e, 'ARCHIVE_LIMIT'));
});

test('many differing members: report capped at maxDifferences and marked truncated', async () => {
  const mk = (s: string) => tarBuffer(Array.from({ length: 300 }, (_, i) => ({ name: `f${i}`, body: `${s}${i}\n` })));
  const [a, b] = await files('capdiff', await mk('a'), await mk('b'));
  const r = await diffFiles(a, b, { limits: { maxDifferences: 50 } });
  assert.equal(r.differences.length, 50);
  assert.equal(r.truncated, true);
  assert.equal(r.summary.differences, 300);
  assert.match(r.omitted?.join() ?? '', /past the limit of 50/);
});

test('a missing input is a coded error', async () => {
  await assert.rejects(diffFiles(join(dir, 'nope'), join(dir, 'nope2')), (e) => isReprodError(e, 'DIFF_FAILED'));
});

test('progress is reported while scanning large archives', async () => {
  const mk = (s: string) => tarBuffer(Array.from({ length: 12_000 }, (_, i) => ({ name: `p${i}`, body: i === 7 ? s : '' })));
  const [a, b] = await files('progress', await mk('x'), await mk('y'));
  const seen: number[] = [];
  const r = await diffFiles(a, b, { onProgress: (p) => seen.push(p.members) });
  assert.equal(r.differences.length, 1);
  assert.ok(seen.length >= 4 && Math.max(...seen) >= 20_000, seen.join());
});
