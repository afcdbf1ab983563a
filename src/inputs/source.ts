import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { DEFAULT_SOURCE_BYTES } from '../config/defaults.ts';
import { ReprodError } from '../errors.ts';
import { join } from 'node:path';
import type { SourceRef } from '../plan/rebuilder.ts';
import { InputCache, type SourceMeta } from './cache.ts';
import { checkoutCommit } from './git.ts';
import { checkSourceUrl, type SourcePolicy } from './source-policy.ts';

/** Largest clone and checked-out source tree accepted by default (config: limits.sourceBytes). */
export const MAX_SOURCE_BYTES = DEFAULT_SOURCE_BYTES;

/** Sums file sizes under `dir`, stopping as soon as `limit` is passed (links are not followed). */
async function treeExceeds(dir: string, limit: number): Promise<number | undefined> {
  let total = 0;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) {
        total += (await lstat(p)).size;
        if (total > limit) return total;
      }
    }
  }
  return undefined;
}

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
  opts: { signal?: AbortSignal; onProgress?: (p: SourceProgress) => void; maxBytes?: number } = {},
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
    const limit = opts.maxBytes ?? MAX_SOURCE_BYTES;
    // The cap applies to what the clone downloads (.git) and to the files checked out.
    const { commitTime } = await checkoutCommit(source.repo, source.commit, tree, policy, opts.signal, limit);
    // Builds get the files of the commit only; git metadata stays out of the container.
    await rm(join(tree, '.git'), { recursive: true, force: true });
    const over = await treeExceeds(tree, limit);
    if (over !== undefined) {
      throw new ReprodError('SOURCE_TOO_LARGE', `${source.repo} at ${source.commit} holds over ${limit} bytes of files`, { details: { limit, seen: over } });
    }
    const stored = await cache.putSource(tree, { repo: source.repo, commit: source.commit, commitTime, fetchedAt: new Date().toISOString() });
    return { dir: stored.tree, meta: stored.meta, cached: false };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
