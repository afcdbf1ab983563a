import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ReprodError } from '../errors.ts';
import type { InputCache } from './cache.ts';

/** Largest upstream artifact fetched for comparison. */
export const MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024;
export const DOWNLOAD_TIMEOUT_MS = 120_000;

export interface DownloadOptions {
  timeoutMs?: number;
  maxBytes?: number;
  /** Follow redirects (a package mirror may send its pool elsewhere); default: refuse them. */
  followRedirects?: boolean;
  /** The code of a failed download (default FETCH_FAILED) and of one over `maxBytes` (default the same). */
  failCode?: 'FETCH_FAILED' | 'SOURCE_FETCH_FAILED';
  tooLargeCode?: 'FETCH_FAILED' | 'SOURCE_TOO_LARGE';
}

/**
 * Downloads a published artifact (an npm tarball, a Debian source file) into the
 * input cache, keeping it only when every expected digest matches
 * (INPUT_DIGEST_MISMATCH otherwise). Returns the cached path, named by sha256.
 */
export async function downloadVerified(url: string, expected: Record<string, string>, cache: InputCache, signal?: AbortSignal, opts: DownloadOptions = {}): Promise<string> {
  const failCode = opts.failCode ?? 'FETCH_FAILED';
  const maxBytes = opts.maxBytes ?? MAX_DOWNLOAD_BYTES;
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? DOWNLOAD_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout, redirect: opts.followRedirects ? 'follow' : 'error' });
  } catch (e) {
    throw new ReprodError(failCode, `cannot download ${url}: ${(e as Error).message}`, { cause: e, retryable: true });
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new ReprodError(failCode, `download of ${url} answered ${res.status}`, { retryable: res.status >= 500 || res.status === 429 });
  }
  const algorithms = [...new Set(['sha256', ...Object.keys(expected)])];
  const hashes = algorithms.map((a) => [a, createHash(a)] as const);
  const tmpDir = join(cache.root, 'tmp');
  await mkdir(tmpDir, { recursive: true });
  const tmp = join(tmpDir, `download-${randomBytes(6).toString('hex')}`);
  let size = 0;
  try {
    await pipeline(
      Readable.fromWeb(res.body as never),
      async function* (source) {
        for await (const chunk of source) {
          size += (chunk as Buffer).length;
          if (size > maxBytes) throw new ReprodError(opts.tooLargeCode ?? failCode, `${url} is larger than ${maxBytes} bytes`);
          for (const [, h] of hashes) h.update(chunk as Buffer);
          yield chunk;
        }
      },
      createWriteStream(tmp),
    );
    const got = Object.fromEntries(hashes.map(([a, h]) => [a, h.digest('hex')]));
    for (const [a, hex] of Object.entries(expected)) {
      if (got[a] !== hex) throw new ReprodError('INPUT_DIGEST_MISMATCH', `${url} has ${a} ${got[a]}, expected ${hex}`, { details: { url, algorithm: a, expected: hex, actual: got[a] } });
    }
    const dest = cache.inputPath(got.sha256!);
    await mkdir(join(dest, '..'), { recursive: true });
    await rename(tmp, dest);
    return dest;
  } finally {
    await rm(tmp, { force: true });
  }
}
