/**
 * Reads a tar stream from the Docker archive API into a directory, treating it as
 * hostile: absolute names, `..` segments and links whose target leaves the tree
 * are refused with OUTPUT_PATH_ESCAPE. Links are checked but never created on
 * disk, so no later entry can be written through one; nothing is written outside
 * `destDir`.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, posix, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { ReprodError } from '../errors.ts';

export const MAX_ENTRIES = 100_000;

export interface TarEntryInfo {
  /** Normalised relative path. */
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'link' | 'other';
  size: number;
  /** sha256 hex of a file's bytes. */
  sha256?: string;
  /** Link target, as stored. */
  target?: string;
}

export interface ExtractOptions {
  /** Total file bytes allowed (OUTPUT_TOO_LARGE beyond). */
  maxBytes: number;
  jobId?: string;
  /**
   * The archive should hold one regular file (a build output, a pinned input):
   * reading stops at the first entry that is not one, or at a second entry, so a
   * folder of a million members costs nothing. The caller refuses what it got.
   */
  single?: boolean;
  /** Members allowed (ARCHIVE_LIMIT beyond); default MAX_ENTRIES. */
  maxEntries?: number;
}

function escape(name: string, why: string, jobId?: string): ReprodError {
  return new ReprodError('OUTPUT_PATH_ESCAPE', `output archive entry ${JSON.stringify(name)} ${why}`, { ...(jobId ? { jobId } : {}), details: { entry: name } });
}

/** `./a/b/` → `a/b`; undefined for the root itself. Throws on absolute or `..` names. */
export function safeEntryPath(name: string, jobId?: string): string | undefined {
  if (name.startsWith('/')) throw escape(name, 'is an absolute path', jobId);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw escape(name, 'contains ..', jobId);
  return parts.length ? parts.join('/') : undefined;
}

/** A link target must stay inside the tree: relative, and `..` never climbing above the root. */
export function checkLinkTarget(entry: string, target: string, kind: 'symlink' | 'link', jobId?: string): void {
  if (target === '' || target.startsWith('/')) throw escape(entry, `is a ${kind} to ${JSON.stringify(target)} outside the output`, jobId);
  // A hard link's target is relative to the archive root, a symlink's to the link's own folder.
  const base = kind === 'symlink' ? posix.dirname(entry) : '.';
  const joined = posix.normalize(posix.join(base, target));
  if (joined === '..' || joined.startsWith('../')) throw escape(entry, `is a ${kind} to ${JSON.stringify(target)} outside the output`, jobId);
}

export async function extractTar(stream: Readable, destDir: string, opts: ExtractOptions): Promise<TarEntryInfo[]> {
  const root = resolve(destDir);
  await mkdir(root, { recursive: true });
  const extract = tar.extract();
  const entries: TarEntryInfo[] = [];
  const seen = new Set<string>();
  let total = 0;
  let stopped = false;
  const feeding = pipeline(stream, extract as unknown as NodeJS.WritableStream).catch((e: unknown) => {
    extract.destroy(e as Error);
  });
  try {
    await readEntries();
    if (stopped) {
      stream.destroy();
      return entries;
    }
  } catch (e) {
    // Stop the producer (a Docker archive stream) as soon as an entry is refused.
    stream.destroy();
    extract.destroy();
    if (e instanceof ReprodError) throw e;
    throw new ReprodError('ARCHIVE_MALFORMED', `output archive is not a valid tar stream: ${(e as Error).message}`, { ...(opts.jobId ? { jobId: opts.jobId } : {}), cause: e });
  }
  await feeding;
  return entries;

  async function readEntries(): Promise<void> {
    for await (const entry of extract) {
      const h = entry.header;
      if (opts.single && (entries.length > 0 || (h.type !== 'file' && h.type !== 'contiguous-file'))) {
        entry.resume();
        const path = safeEntryPath(h.name, opts.jobId) ?? '.';
        // A link is still refused as an escape when it points out (the clearer error).
        if (h.type === 'symlink') checkLinkTarget(path, h.linkname ?? '', 'symlink', opts.jobId);
        if (h.type === 'link') throw escape(h.name, `is a hard link to ${JSON.stringify(h.linkname)}, which is not in the output`, opts.jobId);
        const type = entries.length > 0 ? 'other' : h.type === 'directory' ? 'directory' : h.type === 'symlink' ? 'symlink' : 'other';
        entries.push({ path, type, size: 0, ...(h.linkname ? { target: h.linkname } : {}) });
        stopped = true;
        break;
      }
      const maxEntries = opts.maxEntries ?? MAX_ENTRIES;
      if (entries.length >= maxEntries) throw new ReprodError('ARCHIVE_LIMIT', `output archive has more than ${maxEntries} entries`);
      const path = safeEntryPath(h.name, opts.jobId);
      if (path === undefined) {
        entry.resume();
        continue;
      }
      const dest = resolve(root, path);
      if (!dest.startsWith(root + sep)) throw escape(h.name, 'leaves the output folder', opts.jobId);
      switch (h.type) {
        case 'file':
        case 'contiguous-file': {
          total += h.size ?? 0;
          if (total > opts.maxBytes) throw new ReprodError('OUTPUT_TOO_LARGE', `outputs exceed ${opts.maxBytes} bytes`, { details: { maxBytes: opts.maxBytes } });
          await mkdir(join(dest, '..'), { recursive: true });
          const hash = createHash('sha256');
          entry.on('data', (c: unknown) => hash.update(c as Buffer));
          await pipeline(entry as unknown as Readable, createWriteStream(dest, { mode: 0o644 }));
          entries.push({ path, type: 'file', size: h.size ?? 0, sha256: hash.digest('hex') });
          break;
        }
        case 'directory':
          await mkdir(dest, { recursive: true });
          entry.resume();
          entries.push({ path, type: 'directory', size: 0 });
          break;
        case 'symlink':
          checkLinkTarget(path, h.linkname ?? '', 'symlink', opts.jobId);
          entry.resume();
          entries.push({ path, type: 'symlink', size: 0, target: h.linkname ?? '' });
          break;
        case 'link': {
          const target = safeEntryPath(h.linkname ?? '', opts.jobId);
          checkLinkTarget(path, target ?? '', 'link', opts.jobId);
          if (!seen.has(target!)) throw escape(h.name, `is a hard link to ${JSON.stringify(h.linkname)}, which is not in the output`, opts.jobId);
          entry.resume();
          entries.push({ path, type: 'link', size: 0, target: target! });
          break;
        }
        default:
          // Devices and fifos are not build outputs: noted, never created.
          entry.resume();
          entries.push({ path, type: 'other', size: 0 });
      }
      seen.add(path);
    }
  }
}
