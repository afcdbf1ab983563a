import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import tar from 'tar-stream';
import { isReprodError } from '../../src/errors.ts';
import { extractTar } from '../../src/build/output-tar.ts';

type Entry = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; body?: string; linkname?: string };

/** Hand-made tar stream: what a hostile container could hand back. */
function tarOf(entries: Entry[]): Readable {
  const pack = tar.pack();
  for (const e of entries) {
    const { body, ...header } = e;
    if (e.type === undefined || e.type === 'file') pack.entry({ mode: 0o644, ...header }, body ?? '');
    else pack.entry({ mode: 0o644, ...header });
  }
  pack.finalize();
  return pack as unknown as Readable;
}

async function listAll(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

describe('output tar reader', () => {
  let root: string;
  let dest: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'reprod-tar-'));
    dest = join(root, 'job', 'out');
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('extracts files and reports their sha256', async () => {
    const d = join(dest, 'ok');
    const entries = await extractTar(tarOf([{ name: 'dist/', type: 'directory' }, { name: 'dist/a.txt', body: 'hello\n' }, { name: './b', body: 'x' }]), d, { maxBytes: 1000 });
    assert.deepEqual(await listAll(d), ['b', 'dist', 'dist/a.txt']);
    assert.equal(await readFile(join(d, 'dist/a.txt'), 'utf8'), 'hello\n');
    const a = entries.find((e) => e.path === 'dist/a.txt');
    assert.equal(a?.sha256, createHash('sha256').update('hello\n').digest('hex'));
    assert.ok(entries.some((e) => e.path === 'b' && e.type === 'file'));
  });

  const hostile: Array<[string, Entry[]]> = [
    ['a ../ path', [{ name: '../x', body: 'evil' }]],
    ['a nested ../ path', [{ name: 'a/../../x', body: 'evil' }]],
    ['an absolute path', [{ name: '/tmp/reprod-evil-abs', body: 'evil' }]],
    ['a symlink to /etc/passwd', [{ name: 'passwd', type: 'symlink', linkname: '/etc/passwd' }]],
    ['a relative symlink that climbs out', [{ name: 'd/link', type: 'symlink', linkname: '../../x' }]],
    ['a hard link to a file outside', [{ name: 'h', type: 'link', linkname: '../../../etc/passwd' }]],
    ['a hard link to an absolute path', [{ name: 'h', type: 'link', linkname: '/etc/shadow' }]],
  ];
  for (const [what, entries] of hostile) {
    it(`refuses ${what} with OUTPUT_PATH_ESCAPE and writes nothing outside`, async () => {
      const d = join(dest, 'hostile');
      await rm(join(root, 'job'), { recursive: true, force: true });
      await assert.rejects(extractTar(tarOf(entries), d, { maxBytes: 1000 }), (e) => isReprodError(e, 'OUTPUT_PATH_ESCAPE'));
      // Only the (empty) destination exists under the scratch root.
      assert.deepEqual(await listAll(root), ['job', 'job/out', 'job/out/hostile']);
      await assert.rejects(readFile('/tmp/reprod-evil-abs'));
    });
  }

  it('allows links that stay inside, without creating them', async () => {
    const d = join(dest, 'links');
    const entries = await extractTar(
      tarOf([{ name: 'a', body: '1' }, { name: 'sub/l', type: 'symlink', linkname: '../a' }, { name: 'h', type: 'link', linkname: 'a' }]),
      d,
      { maxBytes: 1000 },
    );
    assert.deepEqual(entries.map((e) => `${e.path}:${e.type}`), ['a:file', 'sub/l:symlink', 'h:link']);
    assert.deepEqual(await listAll(d), ['a']);
  });

  it('refuses more bytes than allowed with OUTPUT_TOO_LARGE', async () => {
    await assert.rejects(extractTar(tarOf([{ name: 'big', body: 'x'.repeat(2000) }]), join(dest, 'big'), { maxBytes: 1000 }), (e) => isReprodError(e, 'OUTPUT_TOO_LARGE'));
  });
});
