import { spawn } from 'node:child_process';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { constants, createGunzip, createZstdDecompress } from 'node:zlib';
import type { Readable, Writable } from 'node:stream';
import { ReprodError } from '../errors.ts';

/**
 * Pull-based bytes with reused buffers. Streams allocate a new buffer per
 * chunk, and on a 100 MB archive that garbage alone doubled the peak RSS
 * (measured: gunzip + sha256 of the bench's 68 MB .tar.gz, 101 MB → 54 MB,
 * 1.2 s → 0.5 s). A chunk is valid only until the next `read()`.
 */
export interface Source {
  /** The next chunk, or null at the end. */
  read(): Promise<Buffer | null>;
  /** Releases the file handle, decoder or subprocess; safe to call twice. */
  close(): Promise<void>;
}

const CHUNK = 256 * 1024;
const EMPTY = Buffer.alloc(0);

export function fileSource(path: string): Source {
  let fh: FileHandle | undefined;
  // Two buffers: the next read is under way while the caller works on the chunk it was given.
  const bufs: Buffer[] = [];
  let turn = 0;
  let ahead: Promise<number> | undefined;
  let closed = false;
  const start = (): Promise<number> => {
    const buf = (bufs[turn] ??= Buffer.allocUnsafe(CHUNK));
    return fh!.read(buf, 0, buf.length, null).then((r) => r.bytesRead);
  };
  return {
    async read() {
      if (closed) return null;
      fh ??= await openFile(path, 'r');
      const n = await (ahead ?? start());
      const buf = bufs[turn]!;
      ahead = undefined;
      if (n === 0) return null;
      turn ^= 1;
      ahead = start();
      ahead.catch(() => {}); // surfaced by the next read
      return buf.subarray(0, n);
    },
    async close() {
      closed = true;
      await ahead?.catch(() => {});
      ahead = undefined;
      await fh?.close();
      fh = undefined;
    },
  };
}

/** A buffer as one chunk (no copy). */
export function bufferSource(buf: Buffer): Source {
  let done = false;
  return {
    read: async () => {
      if (done) return null;
      done = true;
      return buf;
    },
    close: async () => {
      done = true;
    },
  };
}

/** Counts what passes through, for the decompression caps. */
export interface Counted extends Source {
  readonly bytes: number;
}

export function counted(src: Source): Counted {
  let bytes = 0;
  return {
    get bytes() {
      return bytes;
    },
    async read() {
      const c = await src.read();
      if (c) bytes += c.length;
      return c;
    },
    close: () => src.close(),
  };
}

/** zlib's native handle as the stream classes drive it internally (Node 24): `writeSync` into our own buffer. */
interface ZlibHandle {
  writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void;
  onerror: (message: string, errno: number, code?: string) => void;
}
interface ZlibInternals {
  _handle?: ZlibHandle;
  _writeState?: Uint32Array;
  close(): void;
}

function hasSyncHandle(z: ZlibInternals): boolean {
  return typeof z._handle?.writeSync === 'function' && z._writeState instanceof Uint32Array;
}

/** Whether this Node exposes the zlib handle inflateSource drives (else it falls back to streams). */
export function inflatesInPlace(): boolean {
  const z = createGunzip() as unknown as ZlibInternals;
  const ok = hasSyncHandle(z);
  z.close();
  return ok;
}

/**
 * gzip (multi-member, as Node's Gunzip) or zstd, decompressed synchronously into
 * one reused output buffer through the zlib handle the stream classes use. If a
 * future Node hides it, the same bytes come from the public stream (slower, more RSS).
 */
export function inflateSource(inner: Source, kind: 'gzip' | 'zstd', onError: (message: string) => Error, opts: { viaStream?: boolean } = {}): Source {
  const z = (kind === 'gzip' ? createGunzip() : createZstdDecompress()) as unknown as ZlibInternals;
  const handle = z._handle;
  const state = z._writeState;
  if (opts.viaStream || !hasSyncHandle(z)) {
    z.close();
    return streamInflate(inner, kind, onError);
  }
  const [more, finish] = kind === 'gzip' ? [constants.Z_NO_FLUSH, constants.Z_FINISH] : [constants.ZSTD_e_continue, constants.ZSTD_e_end];
  let failure: Error | undefined;
  handle!.onerror = (message) => {
    failure ??= onError(message);
  };
  const out = Buffer.allocUnsafe(CHUNK);
  let input: Buffer = EMPTY;
  let inOff = 0;
  let inLen = 0;
  let ended = false;
  let finished = false;
  return {
    async read() {
      while (!finished) {
        if (inLen === 0 && !ended) {
          const c = await inner.read();
          if (c === null) ended = true;
          input = c ?? EMPTY;
          inOff = 0;
          inLen = input.length;
        }
        handle!.writeSync(ended ? finish : more, input, inOff, inLen, out, 0, out.length);
        if (failure) {
          finished = true;
          throw failure;
        }
        const availOut = state![0]!;
        const availIn = state![1]!;
        inOff += inLen - availIn;
        inLen = availIn;
        const produced = out.length - availOut;
        // Output space left over: the decoder wants more input, or it is done (input ended, or it
        // stopped before the rest of its input: trailing bytes after the end, as Node's streams do).
        if (availOut > 0 && (availIn > 0 || ended)) finished = true;
        if (produced > 0) return out.subarray(0, produced);
      }
      return null;
    },
    async close() {
      finished = true;
      z.close();
      await inner.close();
    },
  };
}

/** The public-stream fallback of inflateSource. */
function streamInflate(inner: Source, kind: 'gzip' | 'zstd', onError: (message: string) => Error): Source {
  const z = kind === 'gzip' ? createGunzip({ chunkSize: CHUNK }) : createZstdDecompress({ chunkSize: CHUNK });
  return piped(inner, z, z, onError);
}

/** Debian's `xz -dc` as a subprocess (Node has no xz). */
export function xzSource(inner: Source, onError: (message: string) => Error): Source {
  const child = spawn('xz', ['-dc', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let spawnError: Error | undefined;
  child.on('error', (e) => (spawnError = new ReprodError('DIFF_FAILED', `cannot run xz: ${e.message}`)));
  const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
  const src = piped(inner, child.stdin, child.stdout, onError);
  return {
    async read() {
      const c = await src.read();
      if (spawnError) throw spawnError;
      if (c === null) {
        const code = await exited;
        if (spawnError) throw spawnError;
        if (code !== 0) throw onError(`xz exited ${code}: ${stderr.trim()}`);
      }
      return c;
    },
    async close() {
      child.kill();
      await src.close();
    },
  };
}

/** Room to write again, or the writable is gone (closed early: the feed must not wait forever). */
function drained(w: Writable): Promise<void> {
  return new Promise<void>((res) => {
    const done = () => {
      w.off('drain', done);
      w.off('close', done);
      res();
    };
    w.on('drain', done);
    w.on('close', done);
  });
}

/** Feeds `inner` into a writable while reading the readable side; both as one Source. */
function piped(inner: Source, w: Writable, r: Readable, onError: (message: string) => Error): Source {
  let failure: Error | undefined;
  const fail = (e: Error) => (failure ??= onError(e.message));
  r.on('error', fail);
  w.on('error', fail);
  let stop = false;
  const feed = (async () => {
    for (;;) {
      const c = stop ? null : await inner.read();
      if (c === null) break;
      // The inner chunk is reused by its source: the stream keeps a copy.
      if (!w.write(Buffer.from(c))) await drained(w);
    }
    if (!stop) w.end();
  })().catch((e: Error) => fail(e));
  // Events, not the stream's async iterator: with two xz children read in turns, the iterator
  // sometimes yielded nothing of a child that had exited 0 (reproduced on Node 24, ~15% of runs).
  const queue: Buffer[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  r.on('data', (c: Buffer) => {
    queue.push(c);
    if (queue.length >= 4) r.pause();
    wake?.();
  });
  r.on('end', () => {
    ended = true;
    wake?.();
  });
  r.on('error', () => wake?.());
  r.on('close', () => {
    ended = true;
    wake?.();
  });
  return {
    async read() {
      for (;;) {
        if (failure) throw failure;
        const c = queue.shift();
        if (c) {
          if (queue.length < 2) r.resume();
          return c;
        }
        if (ended) return null;
        await new Promise<void>((res) => (wake = res));
        wake = undefined;
      }
    },
    async close() {
      stop = true;
      r.destroy();
      w.destroy();
      await feed;
      await inner.close();
    },
  };
}
