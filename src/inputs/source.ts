import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SourceRef } from '../plan/rebuilder.ts';
import { InputCache, type SourceMeta } from './cache.ts';
import { checkoutCommit } from './git.ts';
import { checkSourceUrl, type SourcePolicy } from './source-policy.ts';

/** What the inputs stage reports while it works. */
export interface SourceProgress {
  stage: 'fetch';
  message: string;
  /** True when the source came from the cache (no clone, no network). */
  cached?: boolean;
}

export interface FetchedSource {
  /** Host folder holding the files of the commit (read-only for builds; no .git). */
  dir: string;
  meta: SourceMeta;
  cached: boolean;
}

/**
 * The source of a plan at its pinned commit: from the cache when this commit
 * was fetched before (no network: a deleted origin still rebuilds), else
 * cloned under the policy and stored in the cache.
 */
export async function fetchSource(
  source: SourceRef,
  policy: SourcePolicy,
  cache: InputCache,
  opts: { signal?: AbortSignal; onProgress?: (p: SourceProgress) => void } = {},
): Promise<FetchedSource> {
  // The policy applies to cached entries too: a host removed from the allow-list stays refused.
  checkSourceUrl(source.repo, policy);
  const hit = await cache.getSource(source.repo, source.commit);
  if (hit) {
    opts.onProgress?.({ stage: 'fetch', message: `source ${source.commit.slice(0, 12)} from cache`, cached: true });
    return { dir: hit.tree, meta: hit.meta, cached: true };
  }
  opts.onProgress?.({ stage: 'fetch', message: `cloning ${source.repo} at ${source.commit.slice(0, 12)}` });
  const scratch = await cache.scratch();
  const tree = join(scratch, 'tree');
  try {
    await mkdir(tree);
    const { commitTime } = await checkoutCommit(source.repo, source.commit, tree, policy, opts.signal);
    // Builds get the files of the commit only; git metadata stays out of the container.
    await rm(join(tree, '.git'), { recursive: true, force: true });
    const stored = await cache.putSource(tree, { repo: source.repo, commit: source.commit, commitTime, fetchedAt: new Date().toISOString() });
    return { dir: stored.tree, meta: stored.meta, cached: false };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
