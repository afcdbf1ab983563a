/**
 * The inputs stage of a Debian rebuild: the source package (.dsc and the
 * tarballs it names) downloaded from the mirror, every file checked against the
 * sha256 the signed archive index gives (InRelease → Sources → files; see
 * archive.ts), into a folder the build copies in. Also reads the date of the
 * newest debian/changelog entry (SOURCE_DATE_EPOCH when the buildinfo has none)
 * and the build dependencies the .dsc declares.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { ReprodError } from '../../errors.ts';
import type { InputCache } from '../cache.ts';
import { downloadVerified } from '../download.ts';
import { Archive } from './archive.ts';
import type { DebianParameters } from './claim.ts';
import { field, parseDeb822, splitClearsigned } from './deb822.ts';

const run = promisify(execFile);
/** Largest source package file fetched (linux's orig tarball is ~150 MB). */
export const MAX_SOURCE_FILE_BYTES = 1024 * 1024 * 1024;
const SOURCE_DOWNLOAD = { timeoutMs: 600_000, maxBytes: MAX_SOURCE_FILE_BYTES, followRedirects: true, failCode: 'SOURCE_FETCH_FAILED', tooLargeCode: 'SOURCE_TOO_LARGE' } as const;
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9+.~_-]*$/;

export interface SourceFiles {
  mirror: string;
  directory: string;
  files: Array<{ name: string; sha256: string; size?: number }>;
}

export interface FetchedSourcePackage {
  /** Host folder holding the .dsc and its files (nothing else). */
  dir: string;
  dsc: string;
  dscSha256: string;
  files: Array<{ name: string; sha256: string }>;
  changelogEpoch: number;
  /** Build-Depends(-Arch/-Indep) of the .dsc, as written. */
  buildDepends: string;
  cached: boolean;
}

/**
 * Where the files are and their pinned digests: from the claim (archive claims
 * carry them, read from the signed Sources at intake) or looked up in the signed
 * Sources index of `suites` (buildinfo claims).
 */
export async function locateSource(
  p: DebianParameters,
  archive: { mirror: string; suites: string[]; keyrings: string[]; component?: string },
  signal?: AbortSignal,
  /** True only for claims reprod's own archive intake made (their pins come from the signed Sources it read). */
  pinsFromArchiveIntake = false,
): Promise<SourceFiles> {
  // Downloads always go to the configured mirror: a URL inside a claim is never fetched (no SSRF).
  if (pinsFromArchiveIntake && p.sourceFiles?.length && p.directory) return { mirror: archive.mirror, directory: p.directory, files: p.sourceFiles };
  const a = new Archive({ mirror: archive.mirror, keyrings: archive.keyrings, ...(archive.component ? { component: archive.component } : {}), ...(signal ? { signal } : {}) });
  for (const suite of archive.suites) {
    const found = await a.sourcePackage(suite, p.source, p.version);
    if (found) return { mirror: a.mirror, directory: found.directory, files: found.files };
  }
  throw new ReprodError('PACKAGE_NOT_FOUND', `source package ${p.source} ${p.version} is not in the signed Sources index of ${archive.suites.join(', ')} at ${archive.mirror}`, {
    details: { source: p.source, version: p.version, suites: archive.suites },
  });
}

/** The date of the first (newest) trailer line ` -- Name <mail>  DATE` of a changelog text, in seconds. */
export function changelogEpoch(changelog: string): number | undefined {
  const m = /^ -- .*?>  (.+)$/m.exec(changelog);
  if (!m) return undefined;
  const t = Date.parse(m[1]!.trim());
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
}

/** debian/changelog from the unpacked-less source: the debian tarball, the native tarball, or the 1.0 diff. */
async function readChangelog(dir: string, files: string[]): Promise<string | undefined> {
  const debianTar = files.find((f) => /\.debian\.tar\.(xz|gz|bz2|lzma)$/.test(f));
  const diff = files.find((f) => f.endsWith('.diff.gz'));
  const tryTar = async (tar: string, pattern: string): Promise<string | undefined> => {
    try {
      const { stdout } = await run('tar', ['-xOf', join(dir, tar), '--wildcards', '--no-wildcards-match-slash', pattern], { maxBuffer: 64 << 20 });
      return stdout || undefined;
    } catch {
      return undefined;
    }
  };
  if (debianTar) return tryTar(debianTar, 'debian/changelog');
  if (diff) {
    const text = gunzipSync(await readFile(join(dir, diff))).toString('utf8');
    const at = text.search(/^\+\+\+ [^\n]*\/debian\/changelog$/m);
    return at < 0 ? undefined : text.slice(at).split('\n').filter((l) => l.startsWith('+')).map((l) => l.slice(1)).join('\n');
  }
  const native = files.find((f) => /\.tar\.(xz|gz|bz2|lzma|zst)$/.test(f) && !/\.orig(-[A-Za-z0-9-]+)?\.tar/.test(f));
  return native ? tryTar(native, '*/debian/changelog') : undefined;
}

export function buildDependsOf(dscText: string): string {
  const p = parseDeb822(splitClearsigned(dscText).body)[0] ?? {};
  return ['Build-Depends', 'Build-Depends-Arch', 'Build-Depends-Indep']
    .map((f) => field(p, f))
    .filter((v): v is string => v !== undefined && v.trim() !== '')
    .join(', ')
    .replace(/\s*\n\s*/g, ' ');
}

/** Downloads (or reuses from the input cache) the source package into a folder of its own. */
export async function fetchSourcePackage(where: SourceFiles, cache: InputCache, signal?: AbortSignal): Promise<FetchedSourcePackage> {
  const files = where.files;
  const dsc = files[0];
  if (!dsc || !dsc.name.endsWith('.dsc')) throw new ReprodError('SOURCE_FETCH_FAILED', 'the source package lists no .dsc first');
  for (const f of files) {
    if (!FILE_NAME.test(f.name) || !/^[0-9a-f]{64}$/.test(f.sha256)) throw new ReprodError('SOURCE_FETCH_FAILED', `bad source file entry ${JSON.stringify(f.name)}`);
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9+._/-]*$/.test(where.directory) || where.directory.split('/').includes('..')) {
    throw new ReprodError('SOURCE_FETCH_FAILED', `bad pool directory ${JSON.stringify(where.directory)}`);
  }
  // Each file is kept in the input cache by its pinned sha256 (an orig tarball shared by
  // several revisions is fetched once); the dsc's digest names the package's folder of copies.
  const dir = join(cache.root, 'debian-source', dsc.sha256);
  const srcDir = join(dir, 'files');
  let cached = true;
  const have = await readFile(join(dir, '.complete'), 'utf8').catch(() => undefined);
  if (have === undefined) {
    cached = false;
    const staging = `${dir}.${randomBytes(4).toString('hex')}`;
    await mkdir(join(staging, 'files'), { recursive: true });
    try {
      const base = where.mirror.replace(/\/+$/, '');
      for (const f of files) {
        const path =
          (await cache.getInput(f.sha256)) ?? (await downloadVerified(`${base}/${where.directory}/${f.name}`, { sha256: f.sha256 }, cache, signal, SOURCE_DOWNLOAD));
        await copyFile(path, join(staging, 'files', f.name));
      }
      await writeFile(join(staging, '.complete'), '');
      await rm(dir, { recursive: true, force: true });
      await mkdir(join(dir, '..'), { recursive: true });
      await rename(staging, dir);
    } catch (e) {
      await rm(staging, { recursive: true, force: true });
      throw e;
    }
  }
  const dscText = await readFile(join(srcDir, dsc.name), 'utf8');
  const changelog = await readChangelog(srcDir, files.map((f) => f.name));
  const epoch = changelog === undefined ? undefined : changelogEpoch(changelog);
  if (epoch === undefined) throw new ReprodError('SOURCE_FETCH_FAILED', `cannot read the date of debian/changelog from ${dsc.name}'s files`);
  return {
    dir: srcDir,
    dsc: dsc.name,
    dscSha256: dsc.sha256,
    files: files.map(({ name, sha256 }) => ({ name, sha256 })),
    changelogEpoch: epoch,
    buildDepends: buildDependsOf(dscText),
    cached,
  };
}
