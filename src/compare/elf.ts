import { createHash } from 'node:crypto';

/** Sections of an ELF file (32/64-bit, either byte order), with a digest of each. */
export interface ElfSection {
  name: string;
  offset: number;
  size: number;
  sha256: string;
}

export interface ElfInfo {
  sections: ElfSection[];
  buildId?: string;
}

export function parseElf(buf: Buffer): ElfInfo | undefined {
  if (buf.length < 52 || buf.subarray(0, 4).toString('latin1') !== '\x7fELF') return undefined;
  const is64 = buf[4] === 2;
  const le = buf[5] === 1;
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const addr = (o: number) => (is64 ? Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o)) : u32(o));
  try {
    const shoff = addr(is64 ? 0x28 : 0x20);
    const shentsize = u16(is64 ? 0x3a : 0x2e);
    const shnum = u16(is64 ? 0x3c : 0x30);
    const shstrndx = u16(is64 ? 0x3e : 0x32);
    if (shoff === 0 || shnum === 0 || shnum > 65_000 || shoff + shnum * shentsize > buf.length) return { sections: [] };
    const hdr = (i: number) => {
      const b = shoff + i * shentsize;
      return { nameOff: u32(b), type: u32(b + 4), offset: addr(is64 ? b + 0x18 : b + 0x10), size: addr(is64 ? b + 0x20 : b + 0x14) };
    };
    const strtab = hdr(shstrndx);
    const sections: ElfSection[] = [];
    let buildId: string | undefined;
    for (let i = 1; i < shnum; i++) {
      const h = hdr(i);
      const nameStart = strtab.offset + h.nameOff;
      const nameEnd = buf.indexOf(0, nameStart);
      const name = buf.subarray(nameStart, nameEnd < 0 ? nameStart : nameEnd).toString('latin1') || `#${i}`;
      // SHT_NOBITS (.bss) has no bytes in the file.
      const size = h.type === 8 ? 0 : Math.max(0, Math.min(h.size, buf.length - h.offset));
      const bytes = buf.subarray(h.offset, h.offset + size);
      sections.push({ name, offset: h.offset, size, sha256: createHash('sha256').update(bytes).digest('hex') });
      if (name === '.note.gnu.build-id' && bytes.length > 16) buildId = bytes.subarray(16).toString('hex');
    }
    return buildId === undefined ? { sections } : { sections, buildId };
  } catch {
    return { sections: [] };
  }
}
