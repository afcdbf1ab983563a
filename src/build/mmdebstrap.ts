/**
 * Runs mmdebstrap for a recipe: a rootfs tarball that is bit-for-bit reproducible
 * for the same package versions (SOURCE_DATE_EPOCH clamps file times; apt lists,
 * caches and logs that carry run-specific data are removed). The mirrors are the
 * machine's own apt sources (see apt-sources.ts); none are named in the repo.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ReprodError } from '../errors.ts';
import type { Recipe } from './recipe.ts';

/**
 * Files that differ between runs or only waste space in a builder image. The apt
 * sources go too: builds run offline, and the image must not depend on which
 * mirror this machine uses.
 */
const CLEANUP_HOOK = 'rm -rf "$1"/etc/apt/sources.list "$1"/etc/apt/sources.list.d/* "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/cache/apt/archives/*.deb "$1"/var/cache/ldconfig/aux-cache "$1"/var/log/*.log "$1"/var/log/apt/* && : > "$1"/etc/machine-id';

export function mmdebstrapArgs(recipe: Recipe, outTar: string, mirrors: string[] = []): string[] {
  return [
    `--variant=${recipe.variant}`,
    ...(recipe.packages.length ? [`--include=${[...recipe.packages].sort().join(',')}`] : []),
    '--aptopt=Acquire::Retries "3"',
    // Recommends would pull in packages the recipe does not list.
    '--aptopt=APT::Install-Recommends "false"',
    ...recipe.dpkgExclude.map((g) => `--dpkgopt=path-exclude=${g}`),
    ...recipe.dpkgInclude.map((g) => `--dpkgopt=path-include=${g}`),
    `--customize-hook=${CLEANUP_HOOK}`,
    '--format=tar',
    recipe.release,
    outTar,
    ...mirrors,
  ];
}

/** `mirrors`: one-line apt entries (from the host's sources); none = mmdebstrap's default. */
export function runMmdebstrap(recipe: Recipe, outTar: string, mirrors: string[], onLine: (line: string) => void): Promise<void> {
  const args = mmdebstrapArgs(recipe, outTar, mirrors);
  return new Promise((resolve, reject) => {
    const child = spawn('mmdebstrap', args, {
      env: { ...process.env, SOURCE_DATE_EPOCH: String(recipe.sourceDateEpoch), LC_ALL: 'C.UTF-8', DEBIAN_FRONTEND: 'noninteractive' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail: string[] = [];
    const take = (line: string) => {
      tail.push(line);
      if (tail.length > 30) tail.shift();
      onLine(line);
    };
    createInterface({ input: child.stdout }).on('line', take);
    createInterface({ input: child.stderr }).on('line', take);
    child.on('error', (e: NodeJS.ErrnoException) => {
      const msg = e.code === 'ENOENT' ? 'mmdebstrap is not installed (run `reprod setup`, or apt-get install mmdebstrap)' : e.message;
      reject(new ReprodError('IMAGE_BUILD_FAILED', msg, { cause: e }));
    });
    child.on('close', (code, sig) => {
      if (code === 0) return resolve();
      reject(new ReprodError('IMAGE_BUILD_FAILED', `mmdebstrap exited ${code ?? sig} for image ${recipe.name}:\n${tail.join('\n')}`, { details: { exitCode: code, args } }));
    });
  });
}
