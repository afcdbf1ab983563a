/**
 * Hostile source repositories, fetched with reprod's real git code (fetchSource)
 * from real repositories: code that would run on checkout (hooks, filter
 * drivers, submodule update commands), submodules pointing elsewhere, symlinks
 * out of the tree (and a real build reading them), an unreachable commit, a
 * repository over the clone size cap, and refs that move or lie. Each case has
 * its coded outcome; none writes outside the cache or reaches the canary.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { executePlan } from '../../src/build/executor.ts';
import { isReprodError } from '../../src/errors.ts';
import { InputCache } from '../../src/inputs/cache.ts';
import { fetchSource } from '../../src/inputs/source.ts';
import type { SourcePolicy } from '../../src/inputs/source-policy.ts';
import { silentLogger } from '../../src/log/logger.ts';
import { testDocker, testPlan } from '../support/docker.ts';
import { Canary, treeSnapshot, Workspace } from './harness.ts';

const run = promisify(execFile);
const policy: SourcePolicy = { sourceHosts: [], allowFileSources: true };

let root: string;
let canary: Canary;
let ws: Workspace;
let cacheDir: string;
let hostileHome: string;
const savedEnv = { ...process.env };

/** A git command with fixed identity and dates, and no host config. */
function git(cwd: string, ...args: string[]) {
  return run('git', args, {
    cwd,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: cwd,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: 'hostile',
      GIT_AUTHOR_EMAIL: 'hostile@example.invalid',
      GIT_COMMITTER_NAME: 'hostile',
      GIT_COMMITTER_EMAIL: 'hostile@example.invalid',
      GIT_AUTHOR_DATE: '@1700000000 +0000',
      GIT_COMMITTER_DATE: '@1700000000 +0000',
    },
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** A repository with `files` (name → content, or {link} for a symlink) committed on main; returns its URL and commit. */
async function repo(name: string, files: Record<string, string | Buffer | { link: string }>, prepare?: (dir: string) => Promise<void>): Promise<{ dir: string; url: string; commit: string }> {
  const dir = join(root, 'repos', name);
  await mkdir(dir, { recursive: true });
  await git(dir, 'init', '-q', '-b', 'main');
  for (const [f, body] of Object.entries(files)) {
    await mkdir(join(dir, f, '..'), { recursive: true });
    if (typeof body === 'object' && 'link' in body) await symlink(body.link, join(dir, f));
    else await writeFile(join(dir, f), body);
  }
  await prepare?.(dir);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '-q', '-m', name);
  const commit = (await git(dir, 'rev-parse', 'HEAD')).stdout.trim();
  return { dir, url: pathToFileURL(dir).href, commit };
}

const cache = () => new InputCache(cacheDir);

/** Whether any regular file under `dir` holds the canary's secret (links are not followed). */
async function holdsSecret(dir: string): Promise<boolean> {
  for (const [rel, v] of await treeSnapshot(dir)) {
    if (v.startsWith('file:') && (await readFile(join(dir, rel), 'utf8')).includes(canary.secret)) return true;
  }
  return false;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'reprod-hostile-repo-'));
  cacheDir = join(root, 'cache');
  canary = await new Canary(join(root, 'canary')).arm();
  // The host's own git config is hostile too: hooks and a filter driver that would run on checkout.
  hostileHome = join(root, 'home');
  const hooks = join(hostileHome, 'hooks');
  await mkdir(hooks, { recursive: true });
  for (const hook of ['post-checkout', 'post-merge', 'reference-transaction', 'fsmonitor-watchman']) {
    await writeFile(join(hooks, hook), `#!/bin/sh\ntouch ${canary.pwnedPaths[0]}\n`, { mode: 0o755 });
  }
  const gitconfig = [
    '[core]',
    `\thooksPath = ${hooks}`,
    `\tfsmonitor = ${join(hooks, 'fsmonitor-watchman')}`,
    '[filter "evil"]',
    `\tsmudge = sh -c 'touch ${canary.pwnedPaths[1]}; cat'`,
    '\trequired = true',
    '[protocol "file"]',
    '\tallow = always',
  ].join('\n');
  await writeFile(join(hostileHome, '.gitconfig'), `${gitconfig}\n`);
  process.env.HOME = hostileHome;
  process.env.GIT_CONFIG_GLOBAL = join(hostileHome, '.gitconfig');
  process.env.GIT_CONFIG_PARAMETERS = `'core.hooksPath'='${hooks}'`;
  ws = new Workspace(root, [cacheDir, join(root, 'repos'), join(root, 'jobs'), join(root, 'control')]);
  await ws.snapshot();
});

after(async () => {
  process.env = savedEnv;
  await rm(root, { recursive: true, force: true });
});

describe('hostile repositories', () => {
  it('hooks and filter drivers that would run on checkout do not run (control: plain git runs them)', async () => {
    const r = await repo('hooks', { '.gitattributes': '* filter=evil\n', 'file.txt': 'kept verbatim\n' });
    const got = await fetchSource({ repo: r.url, commit: r.commit }, policy, cache());
    assert.equal(await readFile(join(got.dir, 'file.txt'), 'utf8'), 'kept verbatim\n');
    await canary.assertUntouched();
    // Control: the same host config does run code for an ordinary clone.
    await run('git', ['clone', '-q', r.url, join(root, 'control')], { env: process.env }).catch(() => undefined);
    assert.ok((await readdir(canary.dir)).includes('pwned') || (await lstat(canary.pwnedPaths[1]!).then(() => true, () => false)), 'the hostile config is not hostile');
    await rm(canary.pwnedPaths[0]!, { force: true });
    await rm(canary.pwnedPaths[1]!, { force: true });
  });

  it('a submodule pointing at another repository (with an update command) is not fetched: an empty folder', async () => {
    const other = await repo('other', { 'secret.txt': `${canary.secret}\n` });
    const r = await repo('submodule', { 'main.txt': 'main\n' }, async (dir) => {
      await writeFile(join(dir, '.gitmodules'), `[submodule "sub"]\n\tpath = sub\n\turl = ${other.url}\n\tupdate = !touch ${canary.pwnedPaths[0]}\n`);
      await git(dir, 'update-index', '--add', '--cacheinfo', `160000,${other.commit},sub`);
    });
    const got = await fetchSource({ repo: r.url, commit: r.commit }, policy, cache());
    assert.deepEqual(await readdir(join(got.dir, 'sub')).catch(() => []), []);
    assert.equal(await holdsSecret(got.dir), false, 'the other repository\'s file came along');
    await canary.assertUntouched();
  });

  it('symlinks out of the tree stay links; a build reading them sees nothing of the host', async () => {
    const r = await repo('symlinks', {
      'abs-secret': { link: join(canary.dir, 'secret.txt') },
      'up-secret': { link: `../../../canary/secret.txt` },
      'passwd': { link: '/etc/passwd' },
      'dir-link': { link: canary.dir },
    });
    const got = await fetchSource({ repo: r.url, commit: r.commit }, policy, cache());
    assert.equal(await readlink(join(got.dir, 'abs-secret')), join(canary.dir, 'secret.txt'));
    assert.ok((await lstat(join(got.dir, 'dir-link'))).isSymbolicLink());
    // Nothing under the cache holds the secret: links were never followed.
    assert.equal(await holdsSecret(cacheDir), false, 'a link was followed into the cache');
    const docker = await testDocker();
    const plan = await testPlan({
      build: [{ name: 'read-links', run: ['sh', '-c', '(for f in abs-secret up-secret dir-link/secret.txt; do cat "$f" 2>/dev/null || echo "$f=missing"; done; grep -c "^root:" passwd) > out.txt'] }],
    });
    const jobId = `hostile-repo-${process.pid}`;
    const res = await executePlan(docker, plan, { jobId, sourceDir: got.dir, jobDir: join(root, 'jobs', jobId), fetchNetwork: 'none', logger: silentLogger });
    // `passwd` resolves to the container's own /etc/passwd.
    assert.equal(await readFile(res.outputs[0]!.path, 'utf8'), 'abs-secret=missing\nup-secret=missing\ndir-link/secret.txt=missing\n1\n');
    await canary.assertUntouched();
  });

  it('an unreachable commit is fetched by id and built exactly as pinned; one the server lacks is SOURCE_COMMIT_NOT_FOUND', async () => {
    // Protocol v2 servers (GitHub's too) hand out any commit they hold, reachable or not: the
    // verdict binds repository + commit id, never a branch (docs/threat-model.md).
    const r = await repo('unreachable', { 'a.txt': 'first\n' });
    await writeFile(join(r.dir, 'a.txt'), 'second, later hidden\n');
    await git(r.dir, 'commit', '-q', '-am', 'second');
    const hidden = (await git(r.dir, 'rev-parse', 'HEAD')).stdout.trim();
    await git(r.dir, 'reset', '-q', '--hard', r.commit);
    await rm(join(r.dir, '.git', 'ORIG_HEAD'), { force: true });
    await git(r.dir, 'reflog', 'expire', '--expire=now', '--all');
    assert.equal((await git(r.dir, 'for-each-ref', '--contains', hidden)).stdout, '', 'the commit is still reachable');
    const got = await fetchSource({ repo: r.url, commit: hidden }, policy, cache());
    assert.equal(await readFile(join(got.dir, 'a.txt'), 'utf8'), 'second, later hidden\n');
    await assert.rejects(fetchSource({ repo: r.url, commit: 'deadbeef'.repeat(5) }, policy, cache()), (e) => isReprodError(e, 'SOURCE_COMMIT_NOT_FOUND'));
  });

  it('a repository over the clone size cap (limits.sourceBytes): SOURCE_TOO_LARGE, nothing cached, no scratch left', async () => {
    const r = await repo('huge', { 'blob.bin': randomBytes(6 * 1024 * 1024) });
    const c = cache();
    // Stopped at the clone (what git downloaded), before any checkout.
    await assert.rejects(fetchSource({ repo: r.url, commit: r.commit }, policy, c, { maxBytes: 1024 * 1024 }), (e) => isReprodError(e, 'SOURCE_TOO_LARGE') && /clone size limit/.test(e.message));
    assert.equal(await c.getSource(r.url, r.commit), undefined);
    const leftovers = [...(await treeSnapshot(cacheDir)).entries()].filter(([, v]) => v.startsWith('file:') && Number(v.split(':')[2]) > 1024 * 1024);
    assert.deepEqual(leftovers, [], 'part of the clone stayed on disk');
  });

  it('the ref moved after the provenance was written: the pinned commit is what is checked out', async () => {
    const r = await repo('moved', { 'v.txt': 'pinned\n' });
    await writeFile(join(r.dir, 'v.txt'), 'moved on\n');
    await git(r.dir, 'commit', '-q', '-am', 'later');
    const got = await fetchSource({ repo: r.url, commit: r.commit, ref: 'refs/heads/main' }, policy, cache());
    assert.equal(await readFile(join(got.dir, 'v.txt'), 'utf8'), 'pinned\n');
  });

  it('a branch named like the pinned commit, pointing elsewhere, is not what gets built', async () => {
    const r = await repo('lying-ref', { 'v.txt': 'pinned\n' });
    await git(r.dir, 'checkout', '-q', '--orphan', 'evil');
    await writeFile(join(r.dir, 'v.txt'), 'evil\n');
    await git(r.dir, 'commit', '-q', '-am', 'evil');
    await git(r.dir, 'branch', '-q', r.commit, 'evil');
    await git(r.dir, 'checkout', '-q', 'main');
    const got = await fetchSource({ repo: r.url, commit: r.commit }, policy, cache());
    assert.equal(await readFile(join(got.dir, 'v.txt'), 'utf8'), 'pinned\n');
  });
});

describe('after the hostile repositories', () => {
  it('nothing was written outside the cache and the test repositories; the canary is untouched', async () => {
    await canary.assertUntouched();
    await ws.assertNothingWrittenOutside();
  });
});
