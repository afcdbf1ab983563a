import { open } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

/**
 * Finds where canary values (the recognisable hostname, build path, user …
 * of an experiment) landed in an output: the byte offset and the printable
 * context around each hit. gzip outputs are searched inside as well, since
 * the interesting bytes of a .tar.gz are compressed.
 */
export interface Canary {
  variation: string;
  canary: string;
}

export interface CanaryHit {
  canary: string;
  /** The variation the canary belongs to. */
  variation: string;
  /** `file` for the raw bytes, `gzip` for the decompressed stream. */
  layer: 'file' | 'gzip';
  offset: number;
  /** Printable text around the hit (non-printable bytes shown as '.'). */
  context: string;
}

/** Bounds so a huge output can't take the check's memory. */
export const CANARY_SCAN_BYTES = 64 * 1024 * 1024;
export const CANARY_MAX_HITS = 20;
const CONTEXT = 32;

function printable(buf: Buffer, start: number, end: number): string {
  let s = '';
  for (let i = Math.max(0, start); i < Math.min(buf.length, end); i++) {
    const c = buf[i]!;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.';
  }
  return s;
}

/** Pure: every hit of every canary in `buf`, in offset order, capped. */
export function findCanaries(buf: Buffer, canaries: readonly Canary[], layer: CanaryHit['layer'] = 'file'): CanaryHit[] {
  const hits: CanaryHit[] = [];
  for (const { variation, canary } of canaries) {
    const needle = Buffer.from(canary);
    for (let at = buf.indexOf(needle); at >= 0 && hits.length < CANARY_MAX_HITS * 4; at = buf.indexOf(needle, at + needle.length)) {
      hits.push({ canary, variation, layer, offset: at, context: printable(buf, at - CONTEXT, at + needle.length + CONTEXT) });
    }
  }
  return hits.sort((a, b) => a.offset - b.offset).slice(0, CANARY_MAX_HITS);
}

async function head(path: string, bytes: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export async function scanFile(path: string, canaries: readonly Canary[]): Promise<CanaryHit[]> {
  if (canaries.length === 0) return [];
  const buf = await head(path, CANARY_SCAN_BYTES);
  const hits = findCanaries(buf, canaries);
  if (buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      hits.push(...findCanaries(gunzipSync(buf, { maxOutputLength: CANARY_SCAN_BYTES }), canaries, 'gzip'));
    } catch {
      // Truncated or over the cap: the raw hits stand.
    }
  }
  return hits.slice(0, CANARY_MAX_HITS);
}
