import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type Docker from 'dockerode';
import { resolveImage } from '../build/images.ts';
import { ReprodError } from '../errors.ts';
import { InputCache } from '../inputs/cache.ts';
import { fetchSource } from '../inputs/source.ts';

/**
 * The edges of a check: the Docker engine, the builder image (resolved once
 * to its id, so every build of a check uses the same bytes), and the source
 * folder (a local folder, or a git URL fetched at a pinned commit).
 */
export { connectDocker as connectEngine } from '../build/docker.ts';

/**
 * A builder recipe name (`bookworm-build`, built when missing, with progress),
 * `name@sha256:…` or `sha256:…` → local image id. A plain tag is looked up
 * once and pinned to its id for the whole check.
 */
export async function resolveCheckImage(docker: Docker, ref: string, onProgress?: (step: string, detail?: string) => void): Promise<string> {
  if (!ref.includes(':') && !ref.includes('/')) return resolveImage(docker, ref, onProgress ? { onProgress } : {});
  if (ref.startsWith('sha256:') || ref.includes('@sha256:')) return resolveImage(docker, ref);
  try {
    return (await docker.getImage(ref).inspect()).Id;
  } catch (e) {
    throw new ReprodError('IMAGE_NOT_FOUND', `no image ${JSON.stringify(ref)} on this Docker engine`, { cause: e, details: { image: ref } });
  }
}

export interface CheckSource {
  dir: string;
  /** For the report. */
  source: { dir?: string; git?: string; commit?: string };
  /** The commit time when the source is a git commit. */
  commitTime?: number;
}

export async function localSource(dir: string): Promise<CheckSource> {
  const abs = resolve(dir);
  const s = await stat(abs).catch(() => undefined);
  if (!s?.isDirectory()) throw new ReprodError('USAGE', `${dir} is not a folder`);
  return { dir: abs, source: { dir } };
}

/**
 * The user names the URL on the command line, so its host is trusted for
 * this fetch (file:// too); the protocol rules of the fetcher still apply.
 */
export async function gitSource(url: string, commit: string, dataDir: string, signal?: AbortSignal): Promise<CheckSource> {
  if (!/^[0-9a-f]{40}$/.test(commit)) throw new ReprodError('USAGE', `--commit must be a full 40-hex commit, got ${JSON.stringify(commit)}`);
  let host = '';
  try {
    host = new URL(url).hostname;
  } catch {
    throw new ReprodError('USAGE', `--git must be a URL (https://… or file://…), got ${JSON.stringify(url)}`);
  }
  const fetched = await fetchSource(
    { repo: url, commit },
    { sourceHosts: host ? [host] : [], allowFileSources: url.startsWith('file:') },
    new InputCache(dataDir),
    signal ? { signal } : {},
  );
  return { dir: fetched.dir, source: { git: url, commit }, commitTime: fetched.meta.commitTime };
}
