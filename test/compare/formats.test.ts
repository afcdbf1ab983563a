import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, mkdir, symlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { diffFiles, sha256File } from '../../src/compare/index.ts';
import type { DiffReport } from '../../src/compare/model.ts';
import { tarBuffer, zipBuffer, arBuffer, xzBuffer, type TarEntry } from '../support/archives.ts';

const dir = await mkdtemp(join(tmpdir(), 'reprod-diff-'));
test.after(() => rm(dir, { recursive: true, force: true }));

let n = 0;
async function pair(a: Buffer | string, b: Buffer | string, name = 'f'): Promise<[string, string]> {
  n++;
  await mkdir(join(dir, `${n}a`));
  await mkdir(join(dir, `${n}b`));
  const pa = join(dir, `${n}a`, name);
  const pb = join(dir, `${n}b`, name);
  await writeFile(pa, a);
  await writeFile(pb, b);
  return [pa, pb];
}

const causes = (r: DiffReport) => new Set(r.differences.flatMap((d) => d.causes.map((c) => c.cause)));
const find = (r: DiffReport, last: string) => r.differences.filter((d) => d.path[d.path.length - 1] === last);

const files: TarEntry[] = [
  { name: 'pkg/a.txt', body: 'alpha\n' },
  { name: 'pkg/b.txt', body: 'beta\n' },
  { name: 'pkg/c.txt', body: 'gamma\n' },
];

test('identical files and archives: identical, no differences', async () => {
  const t = await tarBuffer(files);
  const [a, b] = await pair(t, t);
  const r = await diffFiles(a, b);
  assert.equal(r.identical, true);
  assert.deepEqual(r.differences, []);
  assert.equal(r.reprodDiffVersion, 1);
});

test('sha256File streams the digest', async () => {
  const [a] = await pair('abc', 'abd');
  assert.equal(await sha256File(a), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('tar: mtime, ownership, permissions and order are metadata, named by cause, content descended', async () => {
  const a = await tarBuffer(files);
  const b = await tarBuffer([
    { ...files[2]!, mtime: 1_800_000_000 },
    { ...files[0]!, uid: 1000, uname: 'builder' },
    { ...files[1]!, mode: 0o664, body: 'BETA\n' },
  ]);
  const [pa, pb] = await pair(a, b, 'x.tar');
  const r = await diffFiles(pa, pb);
  assert.equal(r.identical, false);
  const got = causes(r);
  for (const c of ['archive-order', 'archive-mtime', 'file-ownership', 'file-permissions'] as const) assert.ok(got.has(c), `missing ${c}: ${[...got]}`);
  const order = r.differences.find((d) => d.kind === 'order');
  assert.deepEqual(order?.path, ['x.tar']);
  const content = find(r, 'pkg/b.txt').find((d) => d.kind === 'content');
  assert.ok(content?.unifiedDiff?.includes('-beta') && content.unifiedDiff.includes('+BETA'), 'unified diff of the text member');
  assert.deepEqual(content?.path, ['x.tar', 'pkg/b.txt']);
});

test('tar with pax and gnu long names: members matched by full name', async () => {
  const long = `pkg/${'d'.repeat(120)}/file.txt`;
  const a = await tarBuffer([{ name: long, body: 'one\n', pax: { comment: 'x' } }]);
  const b = await tarBuffer([{ name: long, body: 'two\n', pax: { comment: 'x' } }]);
  const [pa, pb] = await pair(a, b, 'long.tar');
  const r = await diffFiles(pa, pb);
  assert.deepEqual(r.differences.map((d) => d.path), [['long.tar', long]]);
  // GNU tar's own long-name headers.
  const src = join(dir, 'gnu');
  await mkdir(join(src, 'a', 'd'.repeat(110)), { recursive: true });
  await mkdir(join(src, 'b', 'd'.repeat(110)), { recursive: true });
  await writeFile(join(src, 'a', 'd'.repeat(110), 'f'), 'x\n');
  await writeFile(join(src, 'b', 'd'.repeat(110), 'f'), 'y\n');
  for (const s of ['a', 'b']) execFileSync('tar', ['--format=gnu', '--sort=name', '--mtime=@0', '--owner=0', '--group=0', '-cf', join(src, `${s}.tar`), '-C', join(src, s), '.']);
  const g = await diffFiles(join(src, 'a.tar'), join(src, 'b.tar'));
  assert.deepEqual(g.differences.map((d) => d.path[1]), [`./${'d'.repeat(110)}/f`]);
});

test('tar.gz (npm tgz): gzip header mtime and name are gzip-header; content found inside, by magic not name', async () => {
  const a = gzipSync(await tarBuffer(files));
  const tb = await tarBuffer([files[0]!, { ...files[1]!, body: 'built 2024-01-01T10:00:00Z\n' }, files[2]!]);
  const b = gzipSync(tb);
  b.writeUInt32LE(1_700_000_123, 4); // gzip header mtime
  const [pa, pb] = await pair(a, b, 'package.bin'); // no archive extension on purpose
  const r = await diffFiles(pa, pb);
  assert.ok(causes(r).has('gzip-header'));
  const inner = r.differences.find((d) => d.kind === 'content');
  assert.equal(inner?.path.length, 3);
  assert.equal(inner?.path[2], 'pkg/b.txt');
});

test('gzip with only the header differing is a metadata finding, nothing else', async () => {
  const body = Buffer.from('same\n');
  const a = gzipSync(body);
  const b = Buffer.from(a);
  b.writeUInt32LE(12345, 4);
  const [pa, pb] = await pair(a, b, 'x.gz');
  const r = await diffFiles(pa, pb);
  assert.equal(r.differences.length, 1);
  assert.equal(r.differences[0]!.kind, 'metadata');
  assert.deepEqual([...causes(r)], ['gzip-header']);
});

test('zip/jar: member mtimes, order and content', async () => {
  const a = zipBuffer([
    { name: 'META-INF/MANIFEST.MF', body: 'Manifest-Version: 1.0\n' },
    { name: 'x/A.class', body: Buffer.from([0xca, 0xfe, 0xba, 0xbe, 1, 2, 3]) },
  ]);
  const b = zipBuffer([
    { name: 'x/A.class', body: Buffer.from([0xca, 0xfe, 0xba, 0xbe, 1, 9, 3]) },
    { name: 'META-INF/MANIFEST.MF', body: 'Manifest-Version: 1.0\n', mtime: new Date(Date.UTC(2025, 5, 6, 7, 8, 10)) },
  ]);
  const [pa, pb] = await pair(a, b, 'lib.jar');
  const r = await diffFiles(pa, pb);
  const got = causes(r);
  assert.ok(got.has('archive-order') && got.has('archive-mtime'), [...got].join());
  const cls = find(r, 'x/A.class').find((d) => d.kind === 'content');
  assert.equal((cls?.details as { type?: string }).type, 'binary');
});

test('ar/.deb: control.tar.zst and data.tar.xz opened; the differing data member found', async () => {
  const control = zstdCompressSync(await tarBuffer([{ name: './control', body: 'Package: x\nVersion: 1\n' }]));
  const dataA = xzBuffer(await tarBuffer([{ name: './usr/share/doc/x/built', body: 'built on 2024-01-01 10:00:00\n' }, { name: './usr/bin/x', body: 'same' }]));
  const dataB = xzBuffer(await tarBuffer([{ name: './usr/share/doc/x/built', body: 'built on 2025-03-04 11:12:13\n' }, { name: './usr/bin/x', body: 'same' }]));
  const deb = (data: Buffer) => arBuffer([{ name: 'debian-binary', body: Buffer.from('2.0\n') }, { name: 'control.tar.zst', body: control }, { name: 'data.tar.xz', body: data }]);
  const [pa, pb] = await pair(deb(dataA), deb(dataB), 'x_1_amd64.deb');
  const r = await diffFiles(pa, pb);
  assert.equal(r.differences.length, 1, JSON.stringify(r.differences.map((d) => d.path)));
  assert.deepEqual(r.differences[0]!.path, ['x_1_amd64.deb', 'data.tar.xz', 'data.tar', './usr/share/doc/x/built']);
  assert.ok(causes(r).has('embedded-timestamp'));
  // ar written by binutils too.
  const src = join(dir, 'binutils');
  await mkdir(src);
  await writeFile(join(src, 'm1'), 'one\n');
  execFileSync('ar', ['rcD', join(src, 'a.a'), join(src, 'm1')]);
  await writeFile(join(src, 'm1'), 'two\n');
  execFileSync('ar', ['rcD', join(src, 'b.a'), join(src, 'm1')]);
  const ar = await diffFiles(join(src, 'a.a'), join(src, 'b.a'));
  assert.deepEqual(ar.differences.map((d) => d.path[1]), ['m1']);
});

test('ar/.deb with control.tar.gz and data.tar.gz (dpkg-deb -Zgzip): ar member mtimes and the data member found', async () => {
  const control = gzipSync(await tarBuffer([{ name: './control', body: 'Package: x\nVersion: 1\n' }]));
  const dataA = gzipSync(await tarBuffer([{ name: './usr/share/x/stamp', body: 'built 2024-01-01 10:00:00\n' }]));
  const dataB = gzipSync(await tarBuffer([{ name: './usr/share/x/stamp', body: 'built 2025-03-04 11:12:13\n' }]));
  const deb = (d: Buffer, mtime: number) => arBuffer([{ name: 'debian-binary', body: Buffer.from('2.0\n'), mtime }, { name: 'control.tar.gz', body: control, mtime }, { name: 'data.tar.gz', body: d, mtime }]);
  const [pa, pb] = await pair(deb(dataA, 1_700_000_000), deb(dataB, 1_760_000_000), 'x_1_all.deb');
  const r = await diffFiles(pa, pb);
  const content = r.differences.filter((d) => d.kind === 'content');
  assert.deepEqual(content.map((d) => d.path), [['x_1_all.deb', 'data.tar.gz', 'data.tar', './usr/share/x/stamp']]);
  assert.ok(content[0]!.causes.some((c) => c.cause === 'embedded-timestamp'));
  assert.ok(r.differences.some((d) => d.kind === 'metadata' && d.causes.some((c) => c.cause === 'archive-mtime')), 'ar member mtimes');
});

test('directories: added, removed, modes and symlink targets (never followed)', async () => {
  const root = join(dir, 'dirs');
  for (const s of ['a', 'b']) await mkdir(join(root, s, 'sub'), { recursive: true });
  await writeFile(join(root, 'a', 'sub', 'same'), 'x');
  await writeFile(join(root, 'b', 'sub', 'same'), 'x');
  await writeFile(join(root, 'a', 'only-a'), 'a');
  await writeFile(join(root, 'b', 'only-b'), 'b');
  await writeFile(join(root, 'a', 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
  await writeFile(join(root, 'b', 'run.sh'), '#!/bin/sh\n', { mode: 0o644 });
  await symlink('/etc/passwd', join(root, 'a', 'link'));
  await symlink('/etc/hostname', join(root, 'b', 'link'));
  const r = await diffFiles(join(root, 'a'), join(root, 'b'));
  const kinds = Object.fromEntries(r.differences.map((d) => [d.path[d.path.length - 1], d.kind]));
  assert.equal(kinds['only-a'], 'removed');
  assert.equal(kinds['only-b'], 'added');
  assert.equal(kinds['run.sh'], 'metadata');
  assert.equal(kinds.link, 'metadata');
  assert.ok(causes(r).has('file-permissions'));
  assert.equal(kinds['sub/same'], undefined);
});

test('JSON: key order only is reported as such; value changes are structural', async () => {
  const [pa, pb] = await pair('{"name":"x","version":"1.0.0"}\n', '{"version":"1.0.0","name":"x"}\n', 'package.json');
  const r = await diffFiles(pa, pb);
  assert.equal(r.differences.length, 1);
  assert.equal((r.differences[0]!.details as { keyOrderOnly?: boolean }).keyOrderOnly, true);
  const [qa, qb] = await pair('{"a":{"built":"2024-01-01T00:00:00Z"}}', '{"a":{"built":"2025-02-02T12:00:00Z"}}', 'meta.json');
  const q = await diffFiles(qa, qb);
  assert.ok(causes(q).has('embedded-timestamp'));
});

test('ELF: gcc with differing __DATE__/__TIME__ → sections named, embedded-timestamp and build-id as a consequence', async () => {
  const src = join(dir, 'elf');
  await mkdir(src);
  await writeFile(join(src, 'm.c'), '#include <stdio.h>\nint main(void){puts("built " __DATE__ " " __TIME__);return 0;}\n');
  for (const [out, epoch] of [['a', '1600000000'], ['b', '1700000000']] as const) {
    execFileSync('gcc', ['-O1', '-Wl,--build-id', '-o', join(src, out), join(src, 'm.c')], { env: { ...process.env, SOURCE_DATE_EPOCH: epoch } });
  }
  const r = await diffFiles(join(src, 'a'), join(src, 'b'));
  assert.equal(r.differences.length, 1);
  const d = r.differences[0]!;
  const details = d.details as { type: string; sections: string[] };
  assert.equal(details.type, 'elf');
  assert.ok(details.sections.includes('.rodata'), details.sections.join());
  const got = causes(r);
  assert.ok(got.has('embedded-timestamp'), [...got].join());
  assert.ok(got.has('build-id'), [...got].join());
});

test('binary leaves: offset ranges with hex context', async () => {
  const a = Buffer.alloc(4096, 7);
  const b = Buffer.from(a);
  b[100] = 1;
  b[3000] = 2;
  const [pa, pb] = await pair(a, b, 'blob');
  const r = await diffFiles(pa, pb);
  const det = r.differences[0]!.details as { ranges: { offset: number; length: number }[] };
  assert.deepEqual(det.ranges.map((x) => x.offset), [100, 3000]);
  assert.match(r.differences[0]!.unifiedDiff ?? '', /0000005c: .* 01 07/);
});

test('hints name a cause exactly (build path, host name)', async () => {
  const [pa, pb] = await pair('src=/srv/ci/job-17/src\nhost=alpha\n', 'src=/srv/ci/job-99/src\nhost=omega\n', 'info.txt');
  const r = await diffFiles(pa, pb, { hints: { buildPaths: ['/srv/ci/job-17', '/srv/ci/job-99'], hostnames: ['alpha', 'omega'] } });
  const got = causes(r);
  assert.ok(got.has('build-path') && got.has('hostname'), [...got].join());
});

test('metadata change across many members is one grouped finding', async () => {
  const many = Array.from({ length: 500 }, (_, i) => ({ name: `f/${i}.txt`, body: `${i}\n` }));
  const a = await tarBuffer(many);
  const b = await tarBuffer(many.map((e) => ({ ...e, mtime: 1_760_000_000 + (Number(e.name.slice(2, -4)) % 7) })));
  const [pa, pb] = await pair(a, b, 'many.tar');
  const r = await diffFiles(pa, pb);
  assert.equal(r.differences.length, 1);
  assert.equal((r.differences[0]!.details as { members: number }).members, 500);
  assert.deepEqual(r.summary.byCause, { 'archive-mtime': 1 });
});

test('tar pax records (atime/ctime from tar --posix) are compared as metadata', async () => {
  const a = await tarBuffer([{ name: 'x', body: 'same\n', pax: { atime: '1700000000.5', ctime: '1700000000.5' } }]);
  const b = await tarBuffer([{ name: 'x', body: 'same\n', pax: { atime: '1760000000.25', ctime: '1760000000.25' } }]);
  const [pa, pb] = await pair(a, b, 'posix.tar');
  const r = await diffFiles(pa, pb);
  assert.equal(r.differences.length, 1);
  assert.equal(r.differences[0]!.kind, 'metadata');
  assert.deepEqual(Object.keys((r.differences[0]!.details as { fields: object }).fields).sort(), ['atime', 'ctime']);
});

test('zip64 (over 65,535 members, written by Python zipfile): end record and members read', async () => {
  const script = (odd: string) =>
    `import zipfile,sys\nwith zipfile.ZipFile(sys.argv[1],'w') as z:\n  for i in range(66000): z.writestr(zipfile.ZipInfo('m/%d' % i, (2024,1,1,0,0,0)), '${odd}' if i == 65999 else '')\n`;
  const [pa, pb] = await pair('', '', 'big.zip');
  execFileSync('python3', ['-c', script('one'), pa]);
  execFileSync('python3', ['-c', script('two'), pb]);
  const r = await diffFiles(pa, pb);
  assert.deepEqual(r.differences.map((d) => d.path), [['big.zip', 'm/65999']]);
});
