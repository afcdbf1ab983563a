import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { diffFiles } from '../../src/compare/index.ts';
import type { CauseName } from '../../src/compare/model.ts';
import { tarBuffer, type TarEntry } from '../support/archives.ts';

const dir = await mkdtemp(join(tmpdir(), 'reprod-causes-'));
test.after(() => rm(dir, { recursive: true, force: true }));

/** One member per cause: [name, side-1 body, side-2 body, the cause the report must name]. */
const PLANTED: [string, string, string, CauseName][] = [
  ['pkg/stamp.txt', 'built 2026-11-22 10:00:01\n', 'built 2026-11-23 08:41:17\n', 'embedded-timestamp'],
  ['pkg/path.txt', 'source: /build/pkg-Ab12/src/main.c\n', 'source: /tmp/pkg-Zx98/src/main.c\n', 'build-path'],
  ['pkg/tz.txt', 'zone: Europe/Paris\n', 'zone: America/Chicago\n', 'timezone'],
  ['pkg/locale.txt', 'size 1.5 MB\n', 'size 1,5 MB\n', 'locale'],
  ['pkg/host.txt', 'hostname: buildd-alpha\n', 'hostname: ci-runner-7\n', 'hostname'],
  ['pkg/user.txt', 'packaged by alice\n', 'packaged by reprodbuilder\n', 'username'],
  ['pkg/random.txt', 'id=3f2b8c1e-9a4d-4f6e-8b7c-1d2e3f4a5b6c\n', 'id=a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d\n', 'randomness'],
  ['pkg/package.json', '{"name":"pkg","version":"1.0.0"}\n', '{"version":"1.0.0","name":"pkg"}\n', 'map-order'],
  ['pkg/other.txt', 'foo\n', 'bar\n', 'unknown'],
  ['pkg/md5sums', '6050710ac1dcb11cfeec58da39685dd9  usr/bin/tree\n', '713c4a7f1a3999a7edd6cc56c41757dd  usr/bin/tree\n', 'checksum'],
];

test('every cause in the vocabulary is named for a small generated pair that plants it', async () => {
  // An ELF whose __DATE__/__TIME__ differ: the build-id follows.
  await writeFile(join(dir, 'hello.c'), '#include <stdio.h>\nint main(void){puts("built " __DATE__ " " __TIME__);return 0;}\n');
  const elf: Buffer[] = [];
  for (const epoch of ['1700000000', '1700100000']) {
    execFileSync('gcc', ['-O1', '-Wno-date-time', '-Wl,--build-id', '-o', join(dir, 'hello'), join(dir, 'hello.c')], { env: { ...process.env, SOURCE_DATE_EPOCH: epoch } });
    elf.push(await readFile(join(dir, 'hello')));
  }
  const side = (i: 0 | 1): TarEntry[] => {
    const e: TarEntry[] = PLANTED.map(([name, a, b]) => ({ name, body: i === 0 ? a : b }));
    e.push({ name: 'pkg/bin/hello', body: elf[i]!, mode: 0o755 });
    // Header metadata, one field per member (fewer than 4 alike, so each stays its own finding).
    e.push({ name: 'pkg/mtime.txt', body: 'same\n', ...(i ? { mtime: 1_800_000_000 } : {}) });
    e.push({ name: 'pkg/owner.txt', body: 'same\n', ...(i ? { uid: 1000, uname: 'builder' } : {}) });
    e.push({ name: 'pkg/mode.txt', body: 'same\n', ...(i ? { mode: 0o664 } : {}) });
    // Order: the last two swapped on side 2.
    e.push({ name: 'pkg/y.txt', body: 'y\n' }, { name: 'pkg/z.txt', body: 'z\n' });
    if (i) e.push(e.splice(e.length - 2, 1)[0]!);
    return e;
  };
  const a = gzipSync(await tarBuffer(side(0)));
  const b = gzipSync(await tarBuffer(side(1)));
  b.writeUInt32LE(1_763_800_000, 4); // gzip header mtime
  await writeFile(join(dir, 'a.tgz'), a);
  await writeFile(join(dir, 'b.tgz'), b);
  const r = await diffFiles(join(dir, 'a.tgz'), join(dir, 'b.tgz'), { hints: { users: ['reprodbuilder'] } });
  const at = (member: string) => new Set(r.differences.filter((d) => d.path[d.path.length - 1] === member).flatMap((d) => d.causes.map((c) => c.cause)));
  for (const [name, , , c] of PLANTED) assert.ok(at(name).has(c), `${name}: expected ${c}, got ${[...at(name)]}`);
  assert.ok(at('pkg/bin/hello').has('build-id'), [...at('pkg/bin/hello')].join());
  assert.ok(at('pkg/bin/hello').has('embedded-timestamp'), 'the build-id points to the real cause');
  assert.deepEqual([...at('pkg/mtime.txt')], ['archive-mtime']);
  assert.deepEqual([...at('pkg/owner.txt')], ['file-ownership']);
  assert.deepEqual([...at('pkg/mode.txt')], ['file-permissions']);
  assert.deepEqual([...at('a.tar')], ['archive-order']);
  assert.deepEqual([...at('a.tgz | b.tgz')], ['gzip-header']);
  // The vocabulary the engine itself names (toolchain-drift comes from the rebuild pipeline, not from bytes).
  const named = new Set(r.differences.flatMap((d) => d.causes.map((c) => c.cause)));
  const all: CauseName[] = ['embedded-timestamp', 'archive-mtime', 'archive-order', 'file-ownership', 'file-permissions', 'gzip-header', 'build-path', 'timezone', 'locale', 'hostname', 'username', 'randomness', 'map-order', 'build-id', 'checksum', 'unknown'];
  assert.deepEqual(all.filter((c) => !named.has(c)), []);
  // Every planted content difference is found, and nothing else.
  assert.equal(r.differences.filter((d) => d.kind === 'content').length, PLANTED.length + 1);
});
