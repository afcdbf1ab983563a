import { malformed } from '../blob.ts';

/** Field decoding for tar headers (tar.ts): numbers, strings, checksums, pax records. */

/** Modes and owner names repeat across members: one string each instead of one per member (heap per member). */
const MODES = new Map<number, string>();
export function modeString(mode: number): string {
  let s = MODES.get(mode);
  if (s === undefined) MODES.set(mode, (s = `0${mode.toString(8)}`));
  return s;
}
const NAMES = new Map<string, string>();
export function intern(s: string): string {
  const known = NAMES.get(s);
  if (known !== undefined) return known;
  if (NAMES.size < 1024) NAMES.set(s, s);
  return s;
}

export function isZero(h: Buffer): boolean {
  for (let i = 0; i < 512; i++) if (h[i] !== 0) return false;
  return true;
}

/** The stored checksum matches the unsigned sum (POSIX) or the signed one (some old tars). */
export function checksumOk(h: Buffer): boolean {
  let unsigned = 8 * 32;
  let signed = 8 * 32;
  for (let i = 0; i < 512; i++) {
    if (i >= 148 && i < 156) continue;
    unsigned += h[i]!;
    signed += h[i]! > 127 ? h[i]! - 256 : h[i]!;
  }
  const stored = num(h, 148, 8);
  return stored === unsigned || stored === signed;
}

/** An octal field, or GNU base-256 when the high bit is set. */
export function num(h: Buffer, off: number, len: number): number {
  if (h[off]! & 0x80) {
    const negative = h[off] === 0xff;
    let v = 0;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + (negative ? 0xff - h[i]! : h[i]!);
    return negative ? -(v + 1) : v;
  }
  let i = off;
  const end = off + len;
  while (i < end && (h[i] === 0x20 || h[i] === 0)) i++;
  let v = 0;
  for (; i < end; i++) {
    const c = h[i]!;
    if (c < 0x30 || c > 0x37) break;
    v = v * 8 + (c - 0x30);
  }
  return v;
}

export function cstr(b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end < 0 || end > off + len ? off + len : end);
}

/** pax records: "LEN key=value\n", LEN counting the whole record. */
export function decodePax(b: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let p = 0;
  while (p < b.length) {
    const sp = b.indexOf(0x20, p);
    if (sp < 0) break;
    const len = Number.parseInt(b.toString('latin1', p, sp), 10);
    if (!(len > 0) || p + len > b.length) throw malformed('malformed tar: bad pax record');
    const rec = b.toString('utf8', sp + 1, p + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    p += len;
  }
  return out;
}
