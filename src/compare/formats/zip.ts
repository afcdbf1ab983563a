import { createHash } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { limitError, malformed } from '../blob.ts';
import { randomAccess } from './random.ts';
import { uniqueName, type Member, type Scanner } from './member.ts';

/**
 * zip/jar from its central directory (names, DOS times, modes, extra fields),
 * members inflated one at a time to hash them; zip64 end records and size fields.
 */
export const scanZip: Scanner = async (node, limits, want) => {
  const ra = await randomAccess(node, limits, 'zip');
  try {
    const tailLen = Math.min(ra.size, 65_557);
    const tail = await ra.read(ra.size - tailLen, tailLen);
    const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (eocd < 0) throw malformed('zip without an end-of-central-directory record');
    if (eocd + 22 > tail.length) throw malformed('zip end-of-central-directory record is cut short');
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOff = tail.readUInt32LE(eocd + 16);
    // zip64: the end record's fields are saturated and a zip64 end record (via its locator) has the real ones.
    if ((count === 0xffff || cdSize === 0xffffffff || cdOff === 0xffffffff) && eocd >= 20 && tail.readUInt32LE(eocd - 20) === 0x07064b50) {
      const at = Number(tail.readBigUInt64LE(eocd - 12));
      const z = await ra.read(at, 56);
      if (z.length < 56 || z.readUInt32LE(0) !== 0x06064b50) throw malformed('zip64 end-of-central-directory record is corrupt');
      count = safe(z.readBigUInt64LE(32));
      cdSize = safe(z.readBigUInt64LE(40));
      cdOff = safe(z.readBigUInt64LE(48));
    }
    if (cdSize > limits.maxMemberBytes) throw limitError(`zip central directory is ${cdSize} bytes, over the limit`, { limit: limits.maxMemberBytes });
    if (count > limits.maxMembers) throw limitError(`zip has ${count} members, over ${limits.maxMembers}`, { limit: limits.maxMembers });
    if (cdOff + cdSize > ra.size) throw malformed('zip central directory past the end of the file');
    const cd = await ra.read(cdOff, cdSize);
    const members: Member[] = [];
    const bodies = new Map<string, Buffer>();
    const seen = new Map<string, number>();
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) throw malformed(`zip central directory entry ${i} is corrupt`);
      const method = cd.readUInt16LE(p + 10);
      const time = cd.readUInt16LE(p + 12);
      const date = cd.readUInt16LE(p + 14);
      let csize = cd.readUInt32LE(p + 20);
      let usize = cd.readUInt32LE(p + 24);
      const nlen = cd.readUInt16LE(p + 28);
      const xlen = cd.readUInt16LE(p + 30);
      const clen = cd.readUInt16LE(p + 32);
      const ext = cd.readUInt32LE(p + 38);
      let lho = cd.readUInt32LE(p + 42);
      const rawName = cd.subarray(p + 46, p + 46 + nlen).toString('utf8');
      const extra = cd.subarray(p + 46 + nlen, p + 46 + nlen + xlen);
      // zip64 extended information (0x0001): 8-byte values for exactly the saturated fields, in this order.
      for (let x = 0; x + 4 <= extra.length; x += 4 + extra.readUInt16LE(x + 2)) {
        if (extra.readUInt16LE(x) !== 1) continue;
        let q = x + 4;
        const next = () => (q + 8 <= extra.length ? safe(extra.readBigUInt64LE((q += 8) - 8)) : 0);
        if (usize === 0xffffffff) usize = next();
        if (csize === 0xffffffff) csize = next();
        if (lho === 0xffffffff) lho = next();
      }
      p += 46 + nlen + xlen + clen;
      const name = uniqueName(seen, rawName);
      const isDir = rawName.endsWith('/');
      const mode = (ext >>> 16) & 0o7777;
      const meta: Record<string, string | number> = { mtime: dosTime(date, time), method };
      if (mode) meta.mode = `0${mode.toString(8)}`;
      if (extra.length) meta.extra = extra.toString('hex');
      if (isDir) {
        members.push({ name, type: 'dir', size: 0, sha256: '', meta });
        continue;
      }
      if (want && !want.has(name)) continue; // fetch pass: inflate only the wanted members
      if (usize > limits.maxMemberBytes || usize > limits.maxDecompressedBytes) {
        throw limitError(`zip member ${rawName} is ${usize} bytes, over the member limit`, { limit: limits.maxMemberBytes });
      }
      if (csize > 0 && usize > 1024 * 1024 && usize / csize > limits.maxRatio) throw limitError(`zip member ${rawName} expands more than ${limits.maxRatio}:1`, { ratio: limits.maxRatio });
      const lh = await ra.read(lho, 30);
      if (lh.length < 30 || lh.readUInt32LE(0) !== 0x04034b50) throw malformed(`zip local header of ${rawName} is corrupt`);
      const data = await ra.read(lho + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28), csize);
      let body: Buffer;
      try {
        body = method === 0 ? data : method === 8 ? inflateRawSync(data, { maxOutputLength: Math.max(usize, 1) }) : data;
      } catch (e) {
        throw malformed(`zip member ${rawName} does not inflate: ${(e as Error).message}`, e);
      }
      members.push({ name, type: 'file', size: usize, sha256: createHash('sha256').update(body).digest('hex'), meta });
      if (want?.has(name)) bodies.set(name, body);
    }
    return { members, bodies };
  } catch (e) {
    // A field pointing past its buffer is a corrupt archive, not a reprod bug.
    if (e instanceof RangeError) throw malformed(`zip structure is corrupt: ${e.message}`, e);
    throw e;
  } finally {
    await ra.close();
  }
};

function safe(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed('zip64 value out of range');
  return Number(v);
}

function dosTime(date: number, time: number): string {
  const y = 1980 + (date >> 9);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${y}-${pad((date >> 5) & 15)}-${pad(date & 31)}T${pad(time >> 11)}:${pad((time >> 5) & 63)}:${pad((time & 31) * 2)}`;
}
