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

/**
 * Downloads a published artifact (e.g. an npm tarball) into the input cache,
 * keeping it only when every expected digest matches (INPUT_DIGEST_MISMATCH
 * otherwise). Returns the cached path, named by sha256.
 */
export async function downloadVerified(url: string, expected: Record<string, string>, cache: InputCache, signal?: AbortSignal): Promise<string> {
  const timeout = AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout, redirect: 'error' });
  } catch (e) {
    throw new ReprodError('FETCH_FAILED', `cannot download ${url}: ${(e as Error).message}`, { cause: e, retryable: true });
  }
  if (!res.ok || !res.body) throw new ReprodError('FETCH_FAILED', `download of ${url} answered ${res.status}`, { retryable: res.status >= 500 || res.status === 429 });
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
          if (size > MAX_DOWNLOAD_BYTES) throw new ReprodError('FETCH_FAILED', `${url} is larger than ${MAX_DOWNLOAD_BYTES} bytes`);
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
