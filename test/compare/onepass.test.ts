import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { diffFiles } from '../../src/compare/index.ts';
import type { DiffReport } from '../../src/compare/model.ts';
import { bufferSource, inflateSource, inflatesInPlace, xzSource, type Source } from '../../src/compare/source.ts';
import { isReprodError } from '../../src/errors.ts';
import { tarBuffer, ustarHeader, xzBuffer, type TarEntry } from '../support/archives.ts';

const dir = await mkdtemp(join(tmpdir(), 'reprod-onepass-'));
test.after(() => rm(dir, { recursive: true, force: true }));

let n = 0;
async function files(a: Buffer, b: Buffer, name = 'x.tar'): Promise<[string, string]> {
  n++;
  const pa = join(dir, `${n}a-${name}`);
  const pb = join(dir, `${n}b-${name}`);
  await writeFile(pa, a);
  await writeFile(pb, b);
  return [pa, pb];
}

const contentPaths = (r: DiffReport) => r.differences.filter((d) => d.kind === 'content').map((d) => d.path[d.path.length - 1]!).sort();

/** Deterministic incompressible bytes per seed (AES-CTR keystream), so both sides agree. */
function bytes(seed: string, size: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32)).update(Buffer.alloc(size));
}

test('reversed order past the pending arena: every differing member found, by name, through gzip', async () => {
  // 200 × 60 KiB: when the two reads meet halfway, 12 MiB wait for their counterpart, far more than the
  // pending arena holds, so bodies are dropped and read again.
  const names = Array.from({ length: 200 }, (_, i) => `d/m${String(i).padStart(3, '0')}.bin`);
  const odd = new Set(['d/m000.bin', 'd/m100.bin', 'd/m199.bin']);
  const entry = (name: string, side: 'a' | 'b'): TarEntry => {
    const body = bytes(name, 60 * 1024);
    if (side === 'b' && odd.has(name)) body[1000] ^= 0xff;
    return { name, body };
  };
  const a = gzipSync(await tarBuffer(names.map((x) => entry(x, 'a'))), { level: 0 });
  const b = gzipSync(await tarBuffer(names.map((x) => entry(x, 'b')).reverse()), { level: 0 });
  const [pa, pb] = await files(a, b, 'x.tgz');
  const r = await diffFiles(pa, pb);
  assert.deepEqual(contentPaths(r), [...odd].sort());
  for (const d of r.differences.filter((x) => x.kind === 'content')) assert.deepEqual((d.details as { ranges: { offset: number }[] }).ranges.map((x) => x.offset), [1000]);
  assert.deepEqual(r.differences.filter((d) => d.kind === 'order').length, 1);
  // Same order: the same members, nothing else.
  const c = gzipSync(await tarBuffer(names.map((x) => entry(x, 'b'))), { level: 0 });
  const [qa, qc] = await files(a, c, 'y.tgz');
  const q = await diffFiles(qa, qc);
  assert.deepEqual(contentPaths(q), [...odd].sort());
  assert.equal(q.differences.length, 3);
});

test('a member larger than the in-memory cap that differs is read again and diffed', async () => {
  const big = bytes('big', 5 * 1024 * 1024);
  const big2 = Buffer.from(big);
  big2.write('CHANGED', 4_500_000, 'latin1');
  const [pa, pb] = await files(await tarBuffer([{ name: 'small', body: 'x' }, { name: 'big.bin', body: big }]), await tarBuffer([{ name: 'small', body: 'x' }, { name: 'big.bin', body: big2 }]));
  const r = await diffFiles(pa, pb);
  assert.deepEqual(contentPaths(r), ['big.bin']);
  assert.deepEqual((r.differences[0]!.details as { ranges: { offset: number }[] }).ranges.map((x) => x.offset), [4_500_000]);
});

test('differing bodies past maxBufferedBytes are compared in batches, each read again: all found, memory bounded', async () => {
  const names = Array.from({ length: 12 }, (_, i) => `b/m${i}.bin`);
  const side = (s: string) => tarBuffer(names.map((name) => {
    const body = bytes(name, 40_000);
    if (s === 'b') for (let k = 0; k < 8; k++) body[20_000 + k]! ^= 0xff;
    return { name, body };
  }));
  const [pa, pb] = await files(gzipSync(await side('a')), gzipSync(await side('b')), 'batches.tgz');
  for (const maxBufferedBytes of [100_000, 256 * 1024 ** 2]) {
    const r = await diffFiles(pa, pb, { limits: { maxBufferedBytes } });
    assert.deepEqual(contentPaths(r), [...names].sort(), String(maxBufferedBytes));
    for (const d of r.differences) assert.deepEqual((d.details as { ranges: { offset: number }[] }).ranges.map((x) => x.offset), [20_000]);
  }
});

test('same name, other size or other type; duplicate names keep their own identity', async () => {
  const a = await tarBuffer([
    { name: 'grow.txt', body: 'short\n' },
    { name: 'kind', body: 'a file\n' },
    { name: 'dup', body: 'first\n' },
    { name: 'dup', body: 'second\n' },
  ]);
  const b = await tarBuffer([
    { name: 'grow.txt', body: 'short\nand longer\n' },
    { name: 'kind', type: 'symlink', linkname: 'elsewhere' },
    { name: 'dup', body: 'first\n' },
    { name: 'dup', body: 'SECOND\n' },
  ]);
  const [pa, pb] = await files(a, b);
  const r = await diffFiles(pa, pb);
  assert.deepEqual(contentPaths(r), ['dup#2', 'grow.txt']);
  const kind = r.differences.find((d) => d.path[1] === 'kind');
  assert.equal(kind?.kind, 'metadata');
  assert.deepEqual((kind?.details as { fields: { type: unknown } }).fields.type, ['file', 'symlink']);
});

test('GNU tar formats (v7, oldgnu, gnu with base-256 uids, posix) read alike; a pax global header and long names from Python', async () => {
  const src = join(dir, 'gnu');
  for (const s of ['a', 'b']) {
    await mkdir(join(src, s, 'sub'), { recursive: true });
    await writeFile(join(src, s, 'sub', 'same.txt'), 'same\n');
    await writeFile(join(src, s, 'sub', 'diff.txt'), s === 'a' ? 'built 2024-01-01\n' : 'built 2025-02-02\n');
  }
  for (const format of ['v7', 'oldgnu', 'gnu', 'posix']) {
    const out = (s: string, owner: string) => {
      const p = join(src, `${format}-${s}.tar`);
      execFileSync('tar', [`--format=${format}`, '--sort=name', '--mtime=@1700000000', `--owner=${owner}`, '--group=0', '-cf', p, '-C', join(src, s), 'sub']);
      return p;
    };
    const r = await diffFiles(out('a', '0'), out('b', format === 'gnu' ? ':3000000' : '0'));
    assert.deepEqual(contentPaths(r), ['sub/diff.txt'], format);
    assert.ok(r.differences.find((d) => d.path[1] === 'sub/diff.txt' && d.kind === 'content')?.causes.some((c) => c.cause === 'embedded-timestamp'), format);
    if (format === 'gnu') {
      // 3,000,000 does not fit the octal field: GNU tar writes base-256.
      const own = r.differences.find((d) => d.kind === 'metadata' && d.path[1] === 'sub/diff.txt');
      assert.deepEqual((own?.details as { fields: { uid: unknown } }).fields.uid, [0, 3_000_000]);
    }
  }
  const py = (p: string, body: string) =>
    execFileSync('python3', ['-c', `import tarfile,io,sys\nt=tarfile.open(sys.argv[1],'w',format=tarfile.PAX_FORMAT,pax_headers={'comment':'global'})\nfor n,b in [('${'x'.repeat(150)}/long.txt',sys.argv[2].encode()),('ü/name.txt',b'same')]:\n  i=tarfile.TarInfo(n);i.size=len(b);i.mtime=1700000000;t.addfile(i,io.BytesIO(b))\nt.close()\n`, p, body]);
  py(join(src, 'py-a.tar'), 'one\n');
  py(join(src, 'py-b.tar'), 'two\n');
  const r = await diffFiles(join(src, 'py-a.tar'), join(src, 'py-b.tar'));
  assert.deepEqual(contentPaths(r), [`${'x'.repeat(150)}/long.txt`]);
  assert.equal(r.differences.length, 1);
});

test('an extended (pax) header over 4 MiB is ARCHIVE_LIMIT, not buffered', async () => {
  const size = 5 * 1024 * 1024;
  const t = Buffer.concat([ustarHeader('PaxHeader/x', size, 'x'), Buffer.alloc(size, 'a'), ustarHeader('x', 0), Buffer.alloc(1024)]);
  const [pa, pb] = await files(t, Buffer.concat([t.subarray(0, t.length - 1024), ustarHeader('y', 0), Buffer.alloc(1024)]));
  await assert.rejects(diffFiles(pa, pb), (e) => isReprodError(e, 'ARCHIVE_LIMIT') && /extended header/.test(e.message));
});

test('malformed tars are coded errors: bad checksum, truncated member', async () => {
  const t = await tarBuffer([{ name: 'a', body: 'x'.repeat(2000) }]);
  const bad = Buffer.from(t);
  bad[10] ^= 1;
  const [pa, pb] = await files(t, bad);
  await assert.rejects(diffFiles(pa, pb), (e) => isReprodError(e, 'ARCHIVE_MALFORMED') && /checksum/.test(e.message));
  const [qa, qb] = await files(t, t.subarray(0, 1024));
  await assert.rejects(diffFiles(qa, qb), (e) => isReprodError(e, 'ARCHIVE_MALFORMED') && /end of data/.test(e.message));
});

test('gzip: concatenated members and trailing zeros read as one stream; zstd at the top level', async () => {
  const entries = Array.from({ length: 50 }, (_, i) => ({ name: `f${i}`, body: `${i}\n`.repeat(100) }));
  const ta = await tarBuffer(entries);
  const tb = await tarBuffer(entries.map((e) => (e.name === 'f40' ? { ...e, body: 'changed\n' } : e)));
  const half = 512 * 20;
  const multi = Buffer.concat([gzipSync(ta.subarray(0, half)), gzipSync(ta.subarray(half)), Buffer.alloc(100)]);
  const [pa, pb] = await files(multi, gzipSync(tb), 'm.tgz');
  const r = await diffFiles(pa, pb);
  assert.deepEqual(contentPaths(r), ['f40']);
  const [za, zb] = await files(zstdCompressSync(ta), zstdCompressSync(tb), 'z.tar.zst');
  const z = await diffFiles(za, zb);
  assert.deepEqual(contentPaths(z), ['f40']);
  assert.deepEqual(z.differences[0]!.path.slice(0, 2), [z.differences[0]!.path[0], `${n}a-z.tar`]);
});

test('in-place inflate (zlib handle) is in use on this Node, and the stream fallback gives the same bytes', async () => {
  assert.equal(inflatesInPlace(), true, 'Node no longer exposes the zlib handle: diffs fall back to streams (slower, more memory)');
  const raw = randomBytes(300_000).toString('hex');
  const gz = gzipSync(raw);
  for (const viaStream of [false, true]) {
    const src = inflateSource(bufferSource(gz), 'gzip', (m) => new Error(m), { viaStream });
    const parts: Buffer[] = [];
    for (let c = await src.read(); c; c = await src.read()) parts.push(Buffer.from(c));
    await src.close();
    assert.equal(Buffer.concat(parts).toString(), raw, `viaStream=${viaStream}`);
  }
  const broken = inflateSource(bufferSource(gz.subarray(0, 1000)), 'gzip', (m) => new Error(`corrupt: ${m}`));
  await assert.rejects(async () => {
    while (await broken.read());
  }, /corrupt: unexpected end of file/);
  await broken.close();
});

test('xz subprocesses: two read in turns both give every byte; one closed early does not hang', async () => {
  const t = await tarBuffer([{ name: 'a', body: 'x'.repeat(3000) }, { name: 'b', body: 'same' }]);
  const xz = xzBuffer(t);
  const all = async (src: Source) => {
    let n = 0;
    for (let c = await src.read(); c; c = await src.read()) n += c.length;
    return n;
  };
  // The stream's async iterator lost a child's output in ~15% of such rounds (Node 24); 40 rounds catch it.
  for (let i = 0; i < 40; i++) {
    const s = [xzSource(bufferSource(xz), (m) => new Error(m)), xzSource(bufferSource(xz), (m) => new Error(m))];
    const n = [0, 0];
    const done = [false, false];
    while (!done[0] || !done[1]) {
      for (const k of [0, 1]) {
        if (done[k]) continue;
        const c = await s[k]!.read();
        if (c) n[k]! += c.length;
        else done[k] = true;
      }
    }
    await Promise.all(s.map((x) => x.close()));
    assert.deepEqual(n, [t.length, t.length], `round ${i}`);
  }
  assert.equal(await all(xzSource(bufferSource(xz), (m) => new Error(m))), t.length);
  // A large stream closed after its first chunk (as head() does): the feeder stops instead of waiting for 'drain'.
  const big = execFileSync('xz', ['-c', '-T1', '-0'], { input: bytes('xz-big', 8 * 1024 * 1024), maxBuffer: 64 * 1024 * 1024 });
  const src = xzSource(bufferSource(big), (m) => new Error(m));
  assert.ok((await src.read())!.length > 0);
  await src.close();
});
