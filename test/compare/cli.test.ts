import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname;

function reprod(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, 'diff', ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function tgz(files: Record<string, string>, mtime: Date): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((r) => p.on('end', () => r()));
  for (const [name, body] of Object.entries(files)) p.entry({ name, mtime, mode: 0o644 }, body);
  p.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

test('reprod diff: exit 0 identical, 1 different (with the cause), 2 on error', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-diff-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const when = new Date('2026-01-01T00:00:00Z');
  await writeFile(join(dir, 'a.tgz'), await tgz({ 'package/index.js': '// built 2026-11-22 10:00:00\nmodule.exports = 1;\n', 'package/b.txt': 'same\n' }, when));
  await writeFile(join(dir, 'a2.tgz'), await tgz({ 'package/index.js': '// built 2026-11-22 10:00:00\nmodule.exports = 1;\n', 'package/b.txt': 'same\n' }, when));
  await writeFile(join(dir, 'b.tgz'), await tgz({ 'package/index.js': '// built 2026-11-23 08:30:00\nmodule.exports = 1;\n', 'package/b.txt': 'same\n' }, when));

  const same = reprod(join(dir, 'a.tgz'), join(dir, 'a2.tgz'));
  assert.equal(same.code, 0, same.stderr);

  const diff = reprod(join(dir, 'a.tgz'), join(dir, 'b.tgz'), '--format', 'json');
  assert.equal(diff.code, 1, diff.stderr);
  const report = JSON.parse(diff.stdout) as { reprodDiffVersion: number; identical: boolean; differences: { path: string[]; causes: { cause: string }[] }[] };
  assert.equal(report.reprodDiffVersion, 1);
  assert.equal(report.identical, false);
  const leaf = report.differences.find((d) => d.path[d.path.length - 1] === 'package/index.js');
  assert.ok(leaf, JSON.stringify(report.differences.map((d) => d.path)));
  assert.ok(leaf.causes.some((c) => c.cause === 'embedded-timestamp'));

  const html = reprod(join(dir, 'a.tgz'), join(dir, 'b.tgz'), '--format', 'html', '-o', join(dir, 'r.html'));
  assert.equal(html.code, 1);
  assert.match(await readFile(join(dir, 'r.html'), 'utf8'), /<details/);

  const missing = reprod(join(dir, 'a.tgz'), join(dir, 'nope.tgz'));
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /error\[[A-Z_]+\]/);

  const usage = reprod(join(dir, 'a.tgz'), join(dir, 'b.tgz'), '--format', 'pdf');
  assert.equal(usage.code, 2);
});

test('reprod diff --help teaches: arguments, options with defaults, an example', () => {
  const r = reprod('--help');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /--max-report-bytes/);
  assert.match(r.stdout, /default: 1048576/);
  assert.match(r.stdout, /Examples:/);
});
