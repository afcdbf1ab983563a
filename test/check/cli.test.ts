import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connectEngine } from '../../src/check/setup.ts';
import { checkImageId } from '../support/check-image.ts';

/** `reprod check` as a user runs it: a real process, exit codes 0/1/2, progress on stderr. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = join(ROOT, 'fixtures/check');
const exec = promisify(execFile);

let imageId: string;
before(async () => {
  imageId = await checkImageId(await connectEngine('/var/run/docker.sock'));
});

async function reprod(args: string[], cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(join(ROOT, 'node_modules/.bin/node'), [join(ROOT, 'src/cli/main.ts'), ...args], { cwd, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

test('--help teaches: arguments, options with defaults, variations, an example', async () => {
  const r = await reprod(['check', '--help']);
  assert.equal(r.code, 0);
  for (const s of ['--build <cmd>', '--output <paths...>', '--vary', 'default: "bookworm-build"', 'fs-order', 'Examples:', 'Exit codes']) assert.ok(r.stdout.includes(s), s);
});

test('exit 1 with the culprit named, progress on stderr; exit 0 when reproducible', async () => {
  const bad = await reprod(['check', join(FIXTURES, 'hostname'), '--build', 'sh build.sh', '--output', 'out/buildinfo.txt', '--image', imageId, '--vary', 'hostname,umask,kernel']);
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stdout, /hostname\s+BREAKS/);
  assert.match(bad.stdout, /NOT REPRODUCIBLE: hostname/);
  assert.match(bad.stderr, /build 1 \(control\): no variation; at most ~\d+ more/);
  assert.match(bad.stderr, /build 2 \(all-at-once\): hostname \+ kernel \+ umask/);
  const good = await reprod(['check', join(FIXTURES, 'reproducible'), '--build', 'sh build.sh', '--output', 'out/hello.tar', '--image', imageId, '--vary', 'umask,build-path', '--format', 'json']);
  assert.equal(good.code, 0, good.stderr);
  assert.equal((JSON.parse(good.stdout) as { reproducible: boolean }).reproducible, true);
});

test('exit 2 with a coded error: unknown variation, missing output, unknown image', async () => {
  const vary = await reprod(['check', join(FIXTURES, 'hostname'), '--build', 'true', '--output', 'x', '--vary', 'hostnam']);
  assert.equal(vary.code, 2);
  assert.match(vary.stderr, /error\[USAGE\]/);
  const missing = await reprod(['check', join(FIXTURES, 'hostname'), '--build', 'true', '--output', 'nothing.bin', '--image', imageId, '--vary', 'umask']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /error\[OUTPUT_MISSING\]/);
  const image = await reprod(['check', join(FIXTURES, 'hostname'), '--build', 'true', '--output', 'x', '--image', 'reprod-no-such/image:1']);
  assert.equal(image.code, 2);
  assert.match(image.stderr, /error\[IMAGE_NOT_FOUND\]/);
});

test('--git/--commit builds a pinned commit; --format html --out writes one page', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-check-git-'));
  try {
    const repo = join(dir, 'repo');
    await cp(join(FIXTURES, 'umask'), repo, { recursive: true });
    const git = (...args: string[]) =>
      exec('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-C', repo, ...args], { env: { ...process.env, GIT_AUTHOR_DATE: '@1600000000 +0000', GIT_COMMITTER_DATE: '@1600000000 +0000' } });
    await git('init', '-q');
    await git('add', '.');
    await git('commit', '-q', '-m', 'fixture');
    const commit = (await git('rev-parse', 'HEAD')).stdout.trim();
    const out = join(dir, 'check.html');
    const r = await reprod(['check', '--git', `file://${repo}`, '--commit', commit, '--build', 'sh build.sh', '--output', 'out/pkg.tar', '--image', imageId, '--vary', 'umask,hostname', '--format', 'html', '--out', out], dir);
    assert.equal(r.code, 1, r.stderr);
    const html = await readFile(out, 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /Not reproducible: umask/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
