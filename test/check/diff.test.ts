import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import { diffOutputs, fallbackDiff } from '../../src/check/diff.ts';

/** The built-in diff that stands in when the diff engine fails on a pair, and the engine path with hints. */
async function tarOf(mode: number): Promise<Buffer> {
  const p = pack();
  p.entry({ name: 'pkg/hello.txt', mode, mtime: new Date(0), uid: 0, gid: 0 }, 'hello\n');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('built-in diff: text, tar members, binary strings', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-check-diff-'));
  try {
    const f = (name: string, data: string | Buffer) => writeFile(join(dir, name), data).then(() => join(dir, name));
    const text = await fallbackDiff(await f('a.txt', 'built on reprod-builder\n'), await f('b.txt', 'built on reprod-canary-host\n'));
    assert.match(text.text, /-built on reprod-builder\n\+built on reprod-canary-host/);
    const tar = await fallbackDiff(await f('a.tar', await tarOf(0o644)), await f('b.tar', await tarOf(0o664)));
    assert.match(tar.text, /-file 0644 .* pkg\/hello\.txt\n\+file 0664 .* pkg\/hello\.txt/);
    const bin = await fallbackDiff(await f('a.bin', Buffer.from('\0\0\x7fELF\0built Nov 14 2023\0')), await f('b.bin', Buffer.from('\0\0\x7fELF\0built Nov 23 2026\0')));
    assert.match(bin.text, /binary files differ from byte 17/);
    assert.match(bin.text, /-built Nov 14 2023\n\+built Nov 23 2026/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('engine path: the canary hints let the classifier name the cause', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-check-diff-'));
  try {
    await writeFile(join(dir, 'a.txt'), 'built on host reprod-builder\n');
    await writeFile(join(dir, 'b.txt'), 'built on host reprod-canary-host\n');
    const d = await diffOutputs(join(dir, 'a.txt'), join(dir, 'b.txt'), {
      buildPaths: ['/build/reprod-canary-path'],
      hostnames: ['reprod-canary-host'],
      users: ['reprod-canary-user'],
      canaries: [{ variation: 'hostname', canary: 'reprod-canary-host' }],
    });
    assert.ok(d.causes.some((c) => c.cause === 'hostname'), JSON.stringify(d.causes));
    assert.match(d.html, /<html|<!doctype/i);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
