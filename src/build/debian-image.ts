/**
 * The builder image of a Debian rebuild, made with mmdebstrap like the other
 * builder images (images.ts) but from a recipe made in code: the Essential set
 * plus exactly the buildinfo's Installed-Build-Depends (`name=version`), or,
 * without a buildinfo, build-essential and the .dsc's Build-Depends at the
 * suite's current versions. libfaketime comes too (the `clock` option). The
 * recipe hash names the image tag, so the same build dependencies reuse the
 * image already built.
 */
import type Docker from 'dockerode';
import type { PinnedPackage } from '../inputs/debian/claim.ts';
import type { Logger } from '../log/logger.ts';
import { buildRecipeImage } from './images.ts';
import { recipeHash, type Recipe } from './recipe.ts';
import { ReprodError } from '../errors.ts';

/** Fixed time of every file in these images (and the image's `created`). */
export const DEBIAN_IMAGE_EPOCH = 1700000000;
/** Tools reprod adds to what the vendor had: libfaketime for the clock option. */
export const REPROD_TOOLS = ['faketime'];
const NAME = /^[a-z0-9][a-z0-9+.-]+$/;

/**
 * Build-Depends → package names: the first alternative of each, without version
 * constraints; entries restricted to other architectures or to build profiles
 * (`<!nocheck>` and the like) are left out.
 */
export function dependencyNames(buildDepends: string, arch: string): string[] {
  const names = new Set<string>();
  for (const group of buildDepends.split(',')) {
    const first = group.split('|')[0]!.trim();
    if (!first) continue;
    if (/<[^>]*>/.test(first) && !/<\s*!/.test(first)) continue; // only-with-profile entries
    const archs = /\[([^\]]*)\]/.exec(first)?.[1]?.trim().split(/\s+/);
    if (archs) {
      const negated = archs.every((a) => a.startsWith('!'));
      // Debian architecture wildcards, as far as a Linux host goes: any, linux-any, any-ARCH, linux-ARCH.
      const matches = (a: string) => [arch, 'any', 'linux-any', `any-${arch}`, `linux-${arch}`].includes(a);
      const listed = archs.some((a) => matches(a.replace(/^!/, '')));
      if (negated ? listed : !listed) continue;
    }
    const name = /^([a-z0-9][a-z0-9+.-]+)(?::[a-z0-9]+)?/.exec(first)?.[1];
    if (name && NAME.test(name)) names.add(name);
  }
  return [...names].sort();
}

export interface DebianImageRequest {
  /** Debian release the packages come from (mmdebstrap's suite). */
  suite: string;
  /** The buildinfo's Installed-Build-Depends; empty: current versions of `fallbackPackages`. */
  pinned: readonly PinnedPackage[];
  /** build-essential + the .dsc's Build-Depends, used when nothing is pinned or drift is allowed. */
  fallbackPackages: readonly string[];
  /** `deb …` lines replacing the machine's own mirrors (a snapshot mirror holding older versions). */
  mirrors?: string[];
  /** When the pinned versions cannot be installed, build with the suite's versions and say so. */
  allowDrift: boolean;
  logger?: Logger;
  onProgress?: (step: string, detail?: string) => void;
}

export function debianRecipe(suite: string, packages: string[]): Recipe {
  const data = {
    release: suite,
    variant: 'essential' as const,
    packages: [...new Set([...packages, ...REPROD_TOOLS])].sort(),
    sourceDateEpoch: DEBIAN_IMAGE_EPOCH,
    dpkgExclude: [],
    dpkgInclude: [],
    env: { LC_ALL: 'C.UTF-8', PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', TZ: 'UTC' },
  };
  return { name: 'debian-build', ...data, hash: recipeHash(data) };
}

/** The packages as mmdebstrap's --include wants them: `name=version` when pinned. */
export function pinnedIncludes(pinned: readonly PinnedPackage[]): string[] {
  return [...new Map(pinned.map((p) => [p.name, `${p.name}=${p.version}`])).values()];
}

export interface DebianImage {
  ref: string;
  digest: string;
  /** How its package set was chosen. */
  notes: string[];
  reused: boolean;
}

export async function debianBuilderImage(docker: Docker, req: DebianImageRequest): Promise<DebianImage> {
  const opts = { ...(req.logger ? { logger: req.logger } : {}), ...(req.onProgress ? { onProgress: req.onProgress } : {}), ...(req.mirrors ? { mirrors: req.mirrors } : {}) };
  if (req.pinned.length === 0) {
    const built = await buildRecipeImage(docker, debianRecipe(req.suite, ['build-essential', ...req.fallbackPackages]), opts);
    return { ref: built.ref, digest: built.imageId, reused: built.reused, notes: [`no buildinfo: build dependencies at the current versions of ${req.suite}`] };
  }
  try {
    const built = await buildRecipeImage(docker, debianRecipe(req.suite, pinnedIncludes(req.pinned)), opts);
    return { ref: built.ref, digest: built.imageId, reused: built.reused, notes: [`builder image: the buildinfo's ${req.pinned.length} Installed-Build-Depends at their recorded versions`] };
  } catch (e) {
    if (!(e instanceof ReprodError) || e.code !== 'IMAGE_BUILD_FAILED') throw e;
    if (!req.allowDrift) {
      throw new ReprodError('IMAGE_BUILD_FAILED', `the buildinfo's build dependencies cannot be installed at their recorded versions from the mirror (${e.message.split('\n').slice(-3).join(' ')})`, {
        cause: e,
        details: { hint: 'set rebuilders.debian.snapshotMirror to a snapshot of the archive from the build date, or rebuilders.debian.allowDrift: true' },
      });
    }
    req.logger?.warn({ err: e.message }, 'pinned build dependencies unavailable; building with the suite versions (toolchain drift)');
    const names = [...new Set([...req.pinned.map((p) => p.name), ...req.fallbackPackages])];
    const built = await buildRecipeImage(docker, debianRecipe(req.suite, names), opts);
    return { ref: built.ref, digest: built.imageId, reused: built.reused, notes: ['the recorded build dependency versions are not on the mirror: built with the suite versions (allowDrift)'] };
  }
}
