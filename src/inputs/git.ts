import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { ReprodError } from '../errors.ts';
import { allowedGitProtocols, checkSourceUrl, type SourcePolicy } from './source-policy.ts';

/**
 * Clones one commit of a repository into `dir` with git's dangerous features
 * off: no hooks, no submodules, no system/global config (no includes,
 * credential helpers or url rewrites), no prompts, only allowed protocols.
 */
export interface CheckoutResult {
  commit: string;
  /** Committer time, seconds since 1970 (the default SOURCE_DATE_EPOCH). */
  commitTime: number;
}

function gitEnv(policy: SourcePolicy): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: '/nonexistent',
    GIT_ALLOW_PROTOCOL: allowedGitProtocols(policy),
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ASKPASS: '/bin/false',
    LC_ALL: 'C',
  };
}

function git(dir: string, policy: SourcePolicy, signal?: AbortSignal): SimpleGit {
  return simpleGit({
    baseDir: dir,
    // These "unsafe" switches only let through our own values, which disable
    // things: hooksPath=/dev/null, GIT_CONFIG_GLOBAL=/dev/null, GIT_ASKPASS=/bin/false.
    unsafe: { allowUnsafeHooksPath: true, allowUnsafeConfigPaths: true, allowUnsafeAskPass: true },
    allowEnvironment: ['GIT_ALLOW_PROTOCOL', 'GIT_TERMINAL_PROMPT', 'GIT_CONFIG_NOSYSTEM', 'GIT_CONFIG_GLOBAL', 'GIT_ASKPASS'],
    config: ['core.hooksPath=/dev/null', 'submodule.recurse=false', 'protocol.version=2', 'core.symlinks=true'],
    ...(signal ? { abort: signal } : {}),
  }).env(gitEnv(policy));
}

/** How often the size of a clone in progress is measured. */
export const CLONE_SIZE_POLL_MS = 250;

/** Bytes of the files under `dir` (links not followed); stops counting past `limit`. */
export async function treeBytes(dir: string, limit = Infinity): Promise<number> {
  let total = 0;
  const stack = [dir];
  while (stack.length && total <= limit) {
    const d = stack.pop()!;
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) total += await lstat(p).then((st) => st.size, () => 0);
    }
  }
  return total;
}

function tooLarge(url: string, limit: number, seen: number): ReprodError {
  return new ReprodError('SOURCE_TOO_LARGE', `${url} is over the clone size limit of ${limit} bytes (limits.sourceBytes)`, { details: { url, limit, seen } });
}

/**
 * Runs `fetch` while measuring what it has written under `gitDir`: past `limit`
 * bytes the fetch is aborted (a hostile repository cannot fill the disk), and
 * the total is checked once more when it ends.
 */
async function sizeCapped<T>(url: string, gitDir: string, limit: number, ac: AbortController, fetch: () => Promise<T>): Promise<T> {
  let over = 0;
  let measuring = false;
  const timer = setInterval(() => {
    if (measuring) return;
    measuring = true;
    void treeBytes(gitDir, limit).then((n) => {
      measuring = false;
      if (n > limit && !over) {
        over = n;
        ac.abort(tooLarge(url, limit, n));
      }
    });
  }, CLONE_SIZE_POLL_MS);
  try {
    const r = await fetch().catch((e: unknown) => {
      throw over ? tooLarge(url, limit, over) : e;
    });
    if (over) throw tooLarge(url, limit, over);
    const n = await treeBytes(gitDir, limit);
    if (n > limit) throw tooLarge(url, limit, n);
    return r;
  } finally {
    clearInterval(timer);
  }
}

function message(e: unknown): string {
  return (e as Error).message?.trim().split('\n').slice(-3).join(' ') ?? String(e);
}

/**
 * Fetches `commit` from `url` into the empty folder `dir` and checks it out (detached).
 * `maxBytes` caps what the fetch may write (SOURCE_TOO_LARGE beyond).
 */
export async function checkoutCommit(url: string, commit: string, dir: string, policy: SourcePolicy, signal?: AbortSignal, maxBytes = Infinity): Promise<CheckoutResult> {
  checkSourceUrl(url, policy);
  // Our own controller, so the size cap can stop git; the caller's signal still does too.
  const ac = new AbortController();
  const onAbort = () => ac.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const g = git(dir, policy, ac.signal);
    await g.init();
    await sizeCapped(url, join(dir, '.git'), maxBytes, ac, () => fetchCommit(g, url, commit, ac.signal));
    return await checkout(g, url, commit);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

async function fetchCommit(g: SimpleGit, url: string, commit: string, signal?: AbortSignal): Promise<void> {
  const common = ['--no-tags', '--no-recurse-submodules', '--quiet'];
  try {
    // Servers speaking protocol v2 hand out any reachable commit by id: one shallow fetch.
    await g.raw(['fetch', ...common, '--depth', '1', url, commit]);
  } catch (first) {
    if (signal?.aborted) throw first;
    // Older servers only serve advertised refs: fetch them all, then look for the commit.
    try {
      await g.raw(['fetch', ...common, url, '+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*']);
    } catch (e) {
      throw new ReprodError('SOURCE_FETCH_FAILED', `cannot fetch ${url}: ${message(e)}`, { cause: e, retryable: true, details: { url } });
    }
  }
}

async function checkout(g: SimpleGit, url: string, commit: string): Promise<CheckoutResult> {
  try {
    await g.raw(['cat-file', '-e', `${commit}^{commit}`]);
  } catch (e) {
    throw new ReprodError('SOURCE_COMMIT_NOT_FOUND', `commit ${commit} is not in ${url}`, { cause: e, details: { url, commit } });
  }
  await g.raw(['checkout', '--quiet', '--detach', commit]);
  const head = (await g.raw(['rev-parse', 'HEAD'])).trim();
  if (head !== commit) {
    throw new ReprodError('SOURCE_COMMIT_NOT_FOUND', `checked out ${head}, expected ${commit}`, { details: { url, commit, head } });
  }
  const commitTime = Number((await g.raw(['log', '-1', '--format=%ct', 'HEAD'])).trim());
  return { commit, commitTime };
}
