import { open as openFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { ReprodError } from '../errors.ts';
import type { DiffLimits } from './model.ts';
import { bufferSource, counted, fileSource, inflateSource, xzSource, type Source } from './source.ts';

/**
 * A byte source the engine compares: a file on disk, a buffered member, or a
 * decompressed view of another node. `source()` gives a fresh reader each
 * time, so an archive can be read again (to fetch a member whose body was not
 * kept) without holding it in memory.
 */
export interface Node {
  source(): Source;
  /** Known size in bytes (files, buffers); unknown for decompressed views. */
  size?: number;
  buffer?: Buffer;
  file?: string;
}

export function fileNode(path: string, size: number): Node {
  return { file: path, size, source: () => fileSource(path) };
}

export function bufferNode(buf: Buffer): Node {
  return { buffer: buf, size: buf.length, source: () => bufferSource(buf) };
}

/**
 * sha256 of a file in constant memory: one reused buffer, so hashing a large
 * file makes no garbage (streams allocate a chunk per read and RSS climbs).
 */
export async function sha256File(path: string): Promise<string> {
  const fh = await openFile(path, 'r');
  try {
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(256 * 1024);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
    return h.digest('hex');
  } finally {
    await fh.close();
  }
}

/**
 * Whether two files have the same bytes, read in lockstep with reused buffers:
 * stops at the first differing chunk (a gzip header mtime differs at byte 4).
 */
export async function sameBytes(a: string, b: string): Promise<boolean> {
  const [fa, fb] = await Promise.all([openFile(a, 'r'), openFile(b, 'r')]);
  try {
    const ba = Buffer.allocUnsafe(256 * 1024);
    const bb = Buffer.allocUnsafe(256 * 1024);
    for (;;) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, ba.length, null), fb.read(bb, 0, bb.length, null)]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
    }
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** The first `n` bytes of a node (fewer when it is shorter). */
export async function head(node: Node, n: number): Promise<Buffer> {
  if (node.buffer) return node.buffer.subarray(0, n);
  if (node.file) {
    const fh = await openFile(node.file, 'r');
    try {
      const buf = Buffer.alloc(n);
      const { bytesRead } = await fh.read(buf, 0, n, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }
  const out = Buffer.alloc(n);
  let got = 0;
  const src = node.source();
  try {
    while (got < n) {
      const c = await src.read();
      if (c === null) break;
      got += c.copy(out, got, 0, Math.min(c.length, n - got));
    }
  } finally {
    await src.close();
  }
  return out.subarray(0, got);
}

/** The whole node in memory, refused past `max` bytes (ARCHIVE_LIMIT). */
export async function readCapped(node: Node, max: number, what: string): Promise<Buffer> {
  if (node.buffer) return node.buffer;
  if (node.size !== undefined && node.size > max) throw limitError(`${what} is ${node.size} bytes, over the ${max}-byte limit for buffering`, { limit: max });
  const parts: Buffer[] = [];
  let got = 0;
  const src = node.source();
  try {
    for (let c = await src.read(); c !== null; c = await src.read()) {
      got += c.length;
      if (got > max) throw limitError(`${what} is over the ${max}-byte limit for buffering`, { limit: max });
      parts.push(Buffer.from(c)); // sources reuse their chunk buffers
    }
  } finally {
    await src.close();
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, got);
}

export function limitError(message: string, details: Record<string, unknown> = {}): ReprodError {
  return new ReprodError('ARCHIVE_LIMIT', message, { details });
}

export function malformed(message: string, cause?: unknown): ReprodError {
  return new ReprodError('ARCHIVE_MALFORMED', message, cause === undefined ? {} : { cause });
}

export type Compression = 'gzip' | 'zstd' | 'xz';

/**
 * The decompressed view of a node. Output is counted: past the absolute cap,
 * or past the ratio cap once over 1 MiB, reading fails with ARCHIVE_LIMIT
 * (a decompression bomb never gets to fill memory or time).
 */
export function decompressed(node: Node, kind: Compression, limits: DiffLimits): Node {
  return {
    source: () => {
      const inner = counted(node.source());
      const onError = (message: string) => malformed(`corrupt ${kind} stream: ${message}`);
      const dec = kind === 'xz' ? xzSource(inner, onError) : inflateSource(inner, kind, onError);
      let out = 0;
      return {
        async read() {
          const c = await dec.read();
          if (c === null) return null;
          out += c.length;
          if (out > limits.maxDecompressedBytes) throw limitError(`${kind} stream decompresses past ${limits.maxDecompressedBytes} bytes`, { limit: limits.maxDecompressedBytes });
          if (out > 1024 * 1024 && out / Math.max(inner.bytes, 1) > limits.maxRatio) {
            throw limitError(`${kind} stream expands more than ${limits.maxRatio}:1 (decompression bomb?)`, { ratio: limits.maxRatio });
          }
          return c;
        },
        close: () => dec.close(),
      };
    },
  };
}
