/**
 * Builder images, made reproducibly from a recipe (rebuilders/images/<name>.yaml).
 *
 * API (others code against these names):
 * - `loadRecipe(name)`: the validated recipe (re-exported from recipe.ts).
 * - `buildImage(docker, name, {onProgress, logger, force})` → `{imageId, ref, reused, seconds}`:
 *   reuses `reprod/<name>:<recipe hash>` when present (unless `force`), else runs
 *   mmdebstrap, writes a deterministic image archive and `docker load`s it.
 * - `resolveImage(docker, nameOrId)` → image id: a recipe name (built when missing),
 *   an image id `sha256:<hex>`, or `name@sha256:<hex>`. Mutable tags are refused.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { ReprodError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { hostMirrors } from './apt-sources.ts';
import { imageArchive, sha256File } from './image-archive.ts';
import { withImageLock } from './image-lock.ts';
import { mmdebstrapArgs, runMmdebstrap } from './mmdebstrap.ts';
import { loadRecipe, recipeTag, type Recipe } from './recipe.ts';

export { loadRecipe, type Recipe } from './recipe.ts';

export const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;
const DIGEST_REF = /^[^\s@]+@sha256:[0-9a-f]{64}$/;

export interface BuildImageOptions {
  onProgress?: (step: string, detail?: string) => void;
  logger?: Logger;
  /** Build even when an image for this recipe exists. */
  force?: boolean;
  /** Where recipes live (tests); default rebuilders/images/. */
  recipesDir?: string;
}

export interface BuiltImage {
  imageId: string;
  ref: string;
  reused: boolean;
  seconds: number;
}

async function imageIdOf(docker: Docker, ref: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(ref).inspect()).Id;
  } catch {
    return undefined;
  }
}

/** `docker load` through the API; the engine reports failures inside the JSON stream. */
async function loadArchive(docker: Docker, stream: NodeJS.ReadableStream): Promise<void> {
  const res = await docker.loadImage(stream as never, { quiet: true });
  const messages: string[] = [];
  for await (const chunk of res as AsyncIterable<Buffer>) messages.push(chunk.toString());
  for (const line of messages.join('').split('\n')) {
    if (!line.trim()) continue;
    const msg = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
    if (msg.error) throw new ReprodError('IMAGE_BUILD_FAILED', `docker load failed: ${msg.errorDetail?.message ?? msg.error}`);
  }
}

async function build(docker: Docker, recipe: Recipe, opts: BuildImageOptions & { mirrors?: string[] }): Promise<string> {
  const progress = opts.onProgress ?? (() => undefined);
  const tmp = await mkdtemp(join(tmpdir(), 'reprod-image-'));
  try {
    const rootfs = join(tmp, 'rootfs.tar');
    progress('mmdebstrap', `${recipe.release} (${recipe.variant}) + ${recipe.packages.length} packages`);
    const mirrors = opts.mirrors ?? (await hostMirrors(recipe.release));
    opts.logger?.info({ image: recipe.name, args: mmdebstrapArgs(recipe, rootfs, mirrors) }, 'running mmdebstrap');
    await runMmdebstrap(recipe, rootfs, mirrors, (line) => {
      opts.logger?.debug({ image: recipe.name }, line);
      if (line.startsWith('I: ') || line.startsWith('E: ')) progress('mmdebstrap', line.slice(3));
    });
    progress('hash', 'rootfs layer');
    const rootfsSha256 = await sha256File(rootfs);
    const archive = await imageArchive({
      rootfsTar: rootfs,
      rootfsSha256,
      sourceDateEpoch: recipe.sourceDateEpoch,
      env: recipe.env,
      labels: { 'dev.reprod.recipe': recipe.name, 'dev.reprod.recipe-hash': recipe.hash, 'dev.reprod.release': recipe.release },
      repoTag: recipeTag(recipe),
      createdBy: `mmdebstrap --variant=${recipe.variant} ${recipe.release} (reprod recipe ${recipe.name})`,
    });
    progress('load', `${archive.imageId} (layer sha256:${rootfsSha256.slice(0, 12)})`);
    await loadArchive(docker, archive.stream);
    const loaded = await imageIdOf(docker, recipeTag(recipe));
    if (loaded !== archive.imageId) {
      throw new ReprodError('IMAGE_BUILD_FAILED', `docker load gave image ${loaded ?? '(none)'}, expected ${archive.imageId}`);
    }
    return loaded;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export async function buildImage(docker: Docker, name: string, opts: BuildImageOptions = {}): Promise<BuiltImage> {
  return buildRecipeImage(docker, await loadRecipe(name, opts.recipesDir), opts);
}

/** The same for a recipe made in code (the Debian rebuilder's pinned build dependencies; extra `mirrors` lines replace the host's). */
export async function buildRecipeImage(docker: Docker, recipe: Recipe, opts: BuildImageOptions & { mirrors?: string[] } = {}): Promise<BuiltImage> {
  const started = performance.now();
  const ref = recipeTag(recipe);
  const done = (imageId: string, reused: boolean): BuiltImage => ({ imageId, ref, reused, seconds: (performance.now() - started) / 1000 });
  if (!opts.force) {
    const have = await imageIdOf(docker, ref);
    if (have) return done(have, true);
  }
  return withImageLock(
    ref,
    async () => {
      // Another process may have built it while this one waited for the lock.
      if (!opts.force) {
        const have = await imageIdOf(docker, ref);
        if (have) return done(have, true);
      }
      return done(await build(docker, recipe, opts), false);
    },
    () => opts.onProgress?.('wait', `another process is building ${ref}`),
  );
}

const resolved = new Map<string, Promise<string>>();

export async function resolveImage(docker: Docker, nameOrId: string, opts: BuildImageOptions = {}): Promise<string> {
  if (IMAGE_ID.test(nameOrId) || DIGEST_REF.test(nameOrId)) {
    const id = await imageIdOf(docker, nameOrId);
    if (!id) throw new ReprodError('IMAGE_NOT_FOUND', `no image ${nameOrId} on this Docker engine`, { details: { image: nameOrId } });
    return id;
  }
  if (nameOrId.includes(':') || nameOrId.includes('/')) {
    throw new ReprodError('PLAN_INVALID', `image ${JSON.stringify(nameOrId)} is a mutable tag; name a builder recipe, an image id (sha256:…) or name@sha256:…`, { details: { image: nameOrId } });
  }
  let p = resolved.get(nameOrId);
  if (!p) {
    p = buildImage(docker, nameOrId, opts).then((b) => b.imageId);
    resolved.set(nameOrId, p);
    p.catch(() => resolved.delete(nameOrId));
  }
  return p;
}
