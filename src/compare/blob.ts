import { createReadStream } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { spawn } from 'node:child_process';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { ReprodError } from '../errors.ts';
import type { DiffLimits } from './model.ts';

/**
 * A byte source the engine compares: a file on disk, a buffered member, or a
 * decompressed view of another node. `open()` gives a fresh stream each time,
 * so an archive can be scanned twice (hash pass, then fetch of differing
 * members) without holding it in memory.
 */
export interface Node {
  open(): Readable;
  /** Known size in bytes (files, buffers); unknown for decompressed views. */
  size?: number;
  buffer?: Buffer;
  file?: string;
}

export function fileNode(path: string, size: number): Node {
  return { file: path, size, open: () => createReadStream(path, { highWaterMark: 64 * 1024 }) };
}

export function bufferNode(buf: Buffer): Node {
  return { buffer: buf, size: buf.length, open: () => Readable.from([buf]) };
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

export async function sha256Stream(stream: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of stream) h.update(chunk as Buffer);
  return h.digest('hex');
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

export async function nodeDigest(node: Node): Promise<string> {
  return node.buffer ? sha256(node.buffer) : sha256Stream(node.open());
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
  const parts: Buffer[] = [];
  let got = 0;
  const s = node.open();
  try {
    for await (const chunk of s) {
      parts.push(chunk as Buffer);
      got += (chunk as Buffer).length;
      if (got >= n) break;
    }
  } finally {
    s.destroy();
  }
  return Buffer.concat(parts).subarray(0, n);
}

/** The whole node in memory, refused past `max` bytes (ARCHIVE_LIMIT). */
export async function readCapped(node: Node, max: number, what: string): Promise<Buffer> {
  if (node.buffer) return node.buffer;
  if (node.size !== undefined && node.size > max) throw limitError(`${what} is ${node.size} bytes, over the ${max}-byte limit for buffering`, { limit: max });
  const parts: Buffer[] = [];
  let got = 0;
  const s = node.open();
  try {
    for await (const chunk of s) {
      got += (chunk as Buffer).length;
      if (got > max) throw limitError(`${what} is over the ${max}-byte limit for buffering`, { limit: max });
      parts.push(chunk as Buffer);
    }
  } finally {
    s.destroy();
  }
  return Buffer.concat(parts);
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
 * or past the ratio cap once over 1 MiB, the stream fails with ARCHIVE_LIMIT
 * (a decompression bomb never gets to fill memory or time).
 */
export function decompressed(node: Node, kind: Compression, limits: DiffLimits): Node {
  return {
    open: () => {
      const src = node.open();
      let inBytes = 0;
      src.on('data', (c: Buffer) => (inBytes += c.length));
      const dec = decoder(kind);
      let outBytes = 0;
      const guard = new Transform({
        transform(chunk: Buffer, _enc, done) {
          outBytes += chunk.length;
          if (outBytes > limits.maxDecompressedBytes) return done(limitError(`${kind} stream decompresses past ${limits.maxDecompressedBytes} bytes`, { limit: limits.maxDecompressedBytes }));
          if (outBytes > 1024 * 1024 && outBytes / Math.max(inBytes, 1) > limits.maxRatio) {
            return done(limitError(`${kind} stream expands more than ${limits.maxRatio}:1 (decompression bomb?)`, { ratio: limits.maxRatio }));
          }
          done(null, chunk);
        },
      });
      const fail = (e: Error) => {
        const err = e instanceof ReprodError ? e : malformed(`corrupt ${kind} stream: ${e.message}`, e);
        guard.destroy(err);
      };
      src.on('error', fail);
      dec.on('error', fail);
      guard.on('close', () => {
        src.destroy();
        dec.destroy();
      });
      src.pipe(dec).pipe(guard);
      return guard;
    },
  };
}

function decoder(kind: Compression): Transform {
  // 256 KiB output chunks: far faster than zlib's 16 KiB default; larger ones only add garbage (RSS).
  if (kind === 'gzip') return createGunzip({ chunkSize: 1 << 18 });
  if (kind === 'zstd') return createZstdDecompress({ chunkSize: 1 << 18 }) as unknown as Transform;
  return xzDecoder();
}

/** Node has no xz: Debian's `xz -dc` as a streaming subprocess, wrapped as a Transform. */
function xzDecoder(): Transform {
  const child = spawn('xz', ['-dc', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (!child.stdin.write(chunk)) child.stdin.once('drain', () => done());
      else done();
    },
    flush(done) {
      child.stdin.end();
      child.on('close', (code) => (code === 0 ? done() : done(new Error(`xz exited ${code}: ${stderr.trim()}`))));
    },
    destroy(err, cb) {
      child.kill();
      cb(err);
    },
  });
  child.stdout.on('data', (d: Buffer) => t.push(d));
  child.stdin.on('error', () => {});
  child.on('error', (e) => t.destroy(new ReprodError('DIFF_FAILED', `cannot run xz: ${e.message}`)));
  return t;
}
