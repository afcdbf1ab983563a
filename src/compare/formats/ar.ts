import { createHash } from 'node:crypto';
import { limitError, malformed } from '../blob.ts';
import { randomAccess } from './random.ts';
import { uniqueName, type Member, type Scanner } from './member.ts';

/** ar (and so .deb): 60-byte headers; GNU long names via the `//` table. */
export const scanAr: Scanner = async (node, limits, want) => {
  const ra = await randomAccess(node, limits, 'ar');
  try {
    const members: Member[] = [];
    const bodies = new Map<string, Buffer>();
    const seen = new Map<string, number>();
    let longNames: Buffer = Buffer.alloc(0);
    let pos = 8;
    while (pos + 60 <= ra.size) {
      const h = await ra.read(pos, 60);
      if (h.subarray(58, 60).toString('latin1') !== '`\n') throw malformed(`ar header at offset ${pos} is corrupt`);
      const field = (a: number, b: number) => h.subarray(a, b).toString('latin1').trim();
      const size = Number.parseInt(field(48, 58), 10);
      if (!Number.isFinite(size) || size < 0 || pos + 60 + size > ra.size) throw malformed(`ar member at offset ${pos} has a bad size`);
      let raw = field(0, 16);
      const dataPos = pos + 60;
      pos = dataPos + size + (size % 2);
      if (raw === '//') {
        longNames = await ra.read(dataPos, Math.min(size, 1024 * 1024));
        continue;
      }
      if (raw === '/' || raw === '/SYM64/') continue; // symbol table: derived from the objects
      if (/^\/\d+$/.test(raw)) {
        const off = Number(raw.slice(1));
        const end = longNames.indexOf('/\n', off);
        raw = longNames.subarray(off, end < 0 ? undefined : end).toString('utf8');
      } else if (raw.endsWith('/')) raw = raw.slice(0, -1);
      if (members.length >= limits.maxMembers) throw limitError(`ar has more than ${limits.maxMembers} members`, { limit: limits.maxMembers });
      const name = uniqueName(seen, raw);
      if (want && !want.has(name)) continue; // fetch pass: read only the wanted members
      const hash = createHash('sha256');
      const keep = want?.has(name) === true && size <= limits.maxMemberBytes;
      const parts: Buffer[] = [];
      for (let off = 0; off < size; off += 1024 * 1024) {
        const chunk = await ra.read(dataPos + off, Math.min(1024 * 1024, size - off));
        hash.update(chunk);
        if (keep) parts.push(chunk);
      }
      if (keep) bodies.set(name, Buffer.concat(parts));
      members.push({
        name,
        type: 'file',
        size,
        sha256: hash.digest('hex'),
        meta: { mtime: Number(field(16, 28)) || 0, uid: Number(field(28, 34)) || 0, gid: Number(field(34, 40)) || 0, mode: `0${(Number.parseInt(field(40, 48), 8) & 0o7777).toString(8)}` },
      });
    }
    return { members, bodies };
  } finally {
    await ra.close();
  }
};
