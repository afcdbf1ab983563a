import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import Docker from 'dockerode';
import { ReprodError } from '../errors.ts';
import { InputCache } from '../inputs/cache.ts';
import { fetchSource } from '../inputs/source.ts';

/**
 * The edges of a check: the Docker engine, the builder image (resolved once
 * to its id, so every build of a check uses the same bytes), and the source
 * folder (a local folder, or a git URL fetched at a pinned commit).
 */
const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;

export async function connectEngine(socket: string): Promise<Docker> {
  const docker = new Docker({ socketPath: socket });
  try {
    await docker.ping();
  } catch (e) {
    throw new ReprodError('DOCKER_UNAVAILABLE', `no Docker engine answers at ${socket}`, { cause: e, retryable: true });
  }
  return docker;
}

/** Image name, `name@sha256:…` or `sha256:…` → local image id. */
export async function resolveCheckImage(docker: Docker, ref: string): Promise<string> {
  // A builder recipe name (`bookworm-build`) goes through src/build, which builds the image when missing.
  if (!ref.includes(':') && !ref.includes('/')) {
    const images = (await import('../build/images.ts' as string).catch(() => ({}))) as { resolveImage?: (d: Docker, name: string) => Promise<string> };
    if (images.resolveImage) return images.resolveImage(docker, ref);
  }
  try {
    const info = await docker.getImage(ref).inspect();
    if (!IMAGE_ID.test(info.Id)) throw new Error(`unexpected image id ${info.Id}`);
    return info.Id;
  } catch (e) {
    // reprod's builder images are tagged `reprod/<name>:<recipe hash>`; find one by recipe name.
    const images = await docker.listImages({ filters: { reference: [`reprod/${ref}`] } }).catch(() => []);
    const found = images.sort((a, b) => b.Created - a.Created)[0];
    if (found) return found.Id;
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
