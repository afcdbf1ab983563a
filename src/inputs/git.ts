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

function message(e: unknown): string {
  return (e as Error).message?.trim().split('\n').slice(-3).join(' ') ?? String(e);
}

/** Fetches `commit` from `url` into the empty folder `dir` and checks it out (detached). */
export async function checkoutCommit(url: string, commit: string, dir: string, policy: SourcePolicy, signal?: AbortSignal): Promise<CheckoutResult> {
  checkSourceUrl(url, policy);
  const g = git(dir, policy, signal);
  await g.init();
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
