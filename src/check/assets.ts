import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, copyFile, mkdir, readFile, rename, rm, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EXPERIMENT_LOCALE, type AssetName } from './variations.ts';

/**
 * Host files some variations need inside the build container, prepared once
 * into a cache folder that the check mounts read-only at ASSET_MOUNT:
 * - faketime: Debian's libfaketime (`apt-get install -y faketime` on the host);
 *   the builder image needs no change;
 * - readdir-shim: our reverse-readdir LD_PRELOAD shim, compiled with the
 *   host's C compiler;
 * - locale: EXPERIMENT_LOCALE compiled with the host's localedef, loaded
 *   through LOCPATH (the image needs no locales package).
 * The builder image and the host must share a C library (both Debian
 * bookworm here). A missing tool makes only its variation unavailable.
 */
const run = promisify(execFile);

const FAKETIME_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/faketime/libfaketime.so.1',
];
const SHIM_SOURCE = new URL('./shim/readdir-reverse.c', import.meta.url);

export interface PreparedAssets {
  /** Host folder to mount read-only at ASSET_MOUNT. */
  dir: string;
  available: Set<AssetName>;
  /** Why each missing asset is missing, with the fix. */
  missing: Partial<Record<AssetName, string>>;
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const p of paths) if (await exists(p)) return p;
  return undefined;
}

/** Builds one asset into a scratch path and renames it into place, so a crash never leaves half a file. */
async function atomically(target: string, make: (tmp: string) => Promise<void>): Promise<void> {
  if (await exists(target)) return;
  const tmp = `${target}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await make(tmp);
  await rename(tmp, target).catch(async (e: unknown) => {
    await rm(tmp, { recursive: true, force: true });
    if (!(await exists(target))) throw e;
  });
}

async function prepareFaketime(dir: string): Promise<void> {
  const lib = await firstExisting(FAKETIME_CANDIDATES);
  if (!lib) throw new Error('libfaketime is not installed on this host: apt-get install -y faketime');
  await atomically(join(dir, 'libfaketime.so.1'), (tmp) => copyFile(lib, tmp));
}

async function prepareShim(dir: string): Promise<void> {
  await atomically(join(dir, 'readdir-reverse.so'), async (tmp) => {
    const scratch = await mkdtemp(join(dir, 'cc-'));
    try {
      const src = join(scratch, 'readdir-reverse.c');
      await copyFile(SHIM_SOURCE, src);
      await run('cc', ['-shared', '-fPIC', '-O2', '-o', tmp, src, '-ldl']);
    } catch (e) {
      throw new Error(`could not compile the readdir shim with the host's cc (${(e as Error).message.split('\n')[0]}): apt-get install -y gcc libc6-dev`);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
}

async function prepareLocale(dir: string): Promise<void> {
  const [lang, charset] = EXPERIMENT_LOCALE.split('.') as [string, string];
  await mkdir(join(dir, 'locale'), { recursive: true });
  await atomically(join(dir, 'locale', EXPERIMENT_LOCALE), async (tmp) => {
    try {
      await run('localedef', ['-i', lang, '-f', charset, tmp]);
    } catch (e) {
      throw new Error(`could not compile ${EXPERIMENT_LOCALE} with the host's localedef (${(e as Error).message.split('\n')[0]}): apt-get install -y locales`);
    }
  });
}

const PREPARE: Record<AssetName, (dir: string) => Promise<void>> = {
  faketime: prepareFaketime,
  'readdir-shim': prepareShim,
  locale: prepareLocale,
};

/** Prepares the assets in `wanted` (all by default); each failure makes only that asset missing. */
export async function prepareAssets(cacheDir: string, wanted: readonly AssetName[] = ['faketime', 'readdir-shim', 'locale']): Promise<PreparedAssets> {
  const shim = await readFile(SHIM_SOURCE);
  // The folder name changes with the shim source, so an edited shim is recompiled.
  const dir = join(cacheDir, `check-assets-${createHash('sha256').update(shim).digest('hex').slice(0, 12)}`);
  await mkdir(dir, { recursive: true });
  const available = new Set<AssetName>();
  const missing: PreparedAssets['missing'] = {};
  for (const name of new Set(wanted)) {
    try {
      await PREPARE[name](dir);
      available.add(name);
    } catch (e) {
      missing[name] = (e as Error).message;
    }
  }
  return { dir, available, missing };
}
