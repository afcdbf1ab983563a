import assert from 'node:assert/strict';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isReprodError } from '../../src/errors.ts';
import { InputCache } from '../../src/inputs/cache.ts';
import { fetchSource, type SourceProgress } from '../../src/inputs/source.ts';
import { checkSourceUrl, type SourcePolicy } from '../../src/inputs/source-policy.ts';
import { FIXTURE_COMMIT_EPOCH, makeGitRepo, projectDir, type FixtureRepo } from '../../fixtures/repo.ts';
import { scratch } from '../support/publish.ts';

const filePolicy: SourcePolicy = { sourceHosts: ['git.example.test'], allowFileSources: true };
let tmp: { dir: string; cleanup: () => Promise<void> };
let repo: FixtureRepo;

before(async () => {
  tmp = await scratch('reprod-inputs-');
  repo = await makeGitRepo(projectDir('hello-c'), join(tmp.dir, 'origin'));
});
after(() => tmp.cleanup());

test('the source policy allows https to listed hosts and file:// only when enabled', () => {
  const noFile: SourcePolicy = { sourceHosts: ['git.example.test'], allowFileSources: false };
  assert.equal(checkSourceUrl('https://git.example.test/a.git', noFile).host, 'git.example.test');
  for (const url of [
    'https://evil.example/a.git',
    'http://git.example.test/a.git',
    'ssh://git@git.example.test/a.git',
    'git@git.example.test:a.git',
    'ext::sh -c touch% /tmp/pwned',
    'git://git.example.test/a.git',
    '/srv/repos/a.git',
    'https://user:pw@git.example.test/a.git',
    'file:///srv/repos/a.git',
  ]) {
    assert.throws(() => checkSourceUrl(url, noFile), (e) => isReprodError(e, 'SOURCE_NOT_ALLOWED'), url);
  }
  assert.ok(checkSourceUrl('file:///srv/repos/a.git', filePolicy));
  // An empty host list means any public host, never an internal one.
  const open: SourcePolicy = { sourceHosts: [], allowFileSources: false };
  assert.ok(checkSourceUrl('https://github.com/a/b', open));
  for (const url of ['https://localhost/a.git', 'https://127.0.0.1/a.git', 'https://10.1.2.3/a.git', 'https://172.17.0.1/a', 'https://169.254.169.254/x', 'https://[::1]/a', 'https://intranet/a']) {
    assert.throws(() => checkSourceUrl(url, open), (e) => isReprodError(e, 'SOURCE_NOT_ALLOWED'), url);
  }
});

test('a commit is checked out exactly, without .git, and a second fetch uses the cache', async () => {
  const cache = new InputCache(join(tmp.dir, 'data'));
  const events: SourceProgress[] = [];
  const first = await fetchSource({ repo: repo.url, commit: repo.commit }, filePolicy, cache, { onProgress: (p) => events.push(p) });
  assert.equal(first.cached, false);
  assert.equal(first.meta.commitTime, FIXTURE_COMMIT_EPOCH);
  assert.match(await readFile(join(first.dir, 'hello.c'), 'utf8'), /reproducible build/);
  await assert.rejects(stat(join(first.dir, '.git')));

  // The origin is gone: only the cache can answer now.
  await rm(repo.dir, { recursive: true, force: true });
  const second = await fetchSource({ repo: repo.url, commit: repo.commit }, filePolicy, cache, { onProgress: (p) => events.push(p) });
  assert.equal(second.cached, true);
  assert.equal(second.dir, first.dir);
  assert.deepEqual(events.map((e) => e.cached === true), [false, true]);
});

test('a commit the repository does not have is SOURCE_COMMIT_NOT_FOUND', async () => {
  const other = await makeGitRepo(projectDir('hello-c'), join(tmp.dir, 'origin2'));
  const cache = new InputCache(join(tmp.dir, 'data2'));
  await assert.rejects(
    fetchSource({ repo: other.url, commit: 'f'.repeat(40) }, filePolicy, cache),
    (e) => isReprodError(e, 'SOURCE_COMMIT_NOT_FOUND'),
  );
});

test('file:// sources are refused unless the policy allows them, before any clone', async () => {
  const cache = new InputCache(join(tmp.dir, 'data3'));
  await assert.rejects(
    fetchSource({ repo: repo.url, commit: repo.commit }, { sourceHosts: [], allowFileSources: false }, cache),
    (e) => isReprodError(e, 'SOURCE_NOT_ALLOWED'),
  );
});

test('fetched inputs are stored by digest and refused when the digest differs', async () => {
  const cache = new InputCache(join(tmp.dir, 'data4'));
  const file = join(tmp.dir, 'input.bin');
  await import('node:fs/promises').then((fs) => fs.writeFile(file, 'pinned input'));
  const { sha256Hex } = await import('../../src/inputs/cache.ts');
  const digest = sha256Hex('pinned input');
  assert.equal(await cache.getInput(digest), undefined);
  const stored = await cache.putInput(file, digest);
  assert.equal(await cache.getInput(digest), stored);
  await assert.rejects(cache.putInput(file, 'a'.repeat(64)), (e) => isReprodError(e, 'INPUT_DIGEST_MISMATCH'));
});

test('a source tree over the size limit is SOURCE_TOO_LARGE and is not cached', async () => {
  const r = await makeGitRepo(projectDir('hello-c'), join(tmp.dir, 'origin-big'));
  const cache = new InputCache(join(tmp.dir, 'data5'));
  await assert.rejects(
    fetchSource({ repo: r.url, commit: r.commit }, filePolicy, cache, { maxBytes: 10 }),
    (e) => isReprodError(e, 'SOURCE_TOO_LARGE'),
  );
  assert.equal(await cache.getSource(r.url, r.commit), undefined);
});
