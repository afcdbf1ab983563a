/**
 * Type detection by magic bytes, never by name: a renamed tarball is still a
 * tarball, and a `.json` that does not parse is text.
 */
export type Kind = 'gzip' | 'zstd' | 'xz' | 'tar' | 'zip' | 'ar' | 'elf' | 'json' | 'text' | 'binary' | 'empty';

export function sniff(h: Buffer): Kind {
  if (h.length === 0) return 'empty';
  if (h[0] === 0x1f && h[1] === 0x8b) return 'gzip';
  if (h.length >= 4 && h.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (h.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (h.subarray(0, 8).toString('latin1') === '!<arch>\n') return 'ar';
  if (h.subarray(0, 4).toString('latin1') === '\x7fELF') return 'elf';
  if (h[0] === 0x50 && h[1] === 0x4b && (h[2] === 3 || h[2] === 5) && (h[3] === 4 || h[3] === 6)) return 'zip';
  if (h.length >= 263 && h.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  if (h.length >= 512 && looksLikeV7Tar(h)) return 'tar';
  if (isText(h)) return looksLikeJson(h) ? 'json' : 'text';
  return 'binary';
}

/** Old tar without the ustar magic: a valid header checksum. */
function looksLikeV7Tar(h: Buffer): boolean {
  const stored = parseInt(h.subarray(148, 156).toString('latin1').replace(/\0.*$/s, '').trim(), 8);
  if (!Number.isFinite(stored)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  return sum === stored && h[0] !== 0;
}

export function isText(buf: Buffer): boolean {
  const sample = buf.subarray(0, 8192);
  if (sample.includes(0)) return false;
  let bad = 0;
  for (const b of sample) if (b < 9 || (b > 13 && b < 32 && b !== 27)) bad++;
  if (bad > sample.length / 100) return false;
  // Valid UTF-8 (a multi-byte char cut at the sample's end is fine).
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(sample.length === buf.length ? sample : trimPartial(sample));
    return true;
  } catch {
    return false;
  }
}

function trimPartial(b: Buffer): Buffer {
  let end = b.length;
  for (let i = 1; i <= 3 && end - i >= 0; i++) {
    const c = b[end - i]!;
    if ((c & 0xc0) === 0xc0) return b.subarray(0, end - i);
    if ((c & 0x80) === 0) break;
  }
  return b;
}

function looksLikeJson(h: Buffer): boolean {
  const s = h.toString('utf8').trimStart();
  return s.startsWith('{') || s.startsWith('[');
}
