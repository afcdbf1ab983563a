import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { limitError, malformed } from '../blob.ts';
import { ReprodError } from '../../errors.ts';
import { PROGRESS_EVERY, uniqueName, type Member, type Scanner } from './member.ts';

const TYPES: Record<string, Member['type']> = { file: 'file', 'contiguous-file': 'file', directory: 'dir', symlink: 'symlink', link: 'hardlink' };

/** tar (ustar, pax, gnu): headers and a digest per member, streamed with tar-stream. */
export const scanTar: Scanner = async (node, limits, want, progress) => {
  const members: Member[] = [];
  let count = 0;
  const bodies = new Map<string, Buffer>();
  const seen = new Map<string, number>();
  const ex = extract();
  const feeding = pipeline(node.open(), ex).catch((e: unknown) => {
    ex.destroy(e as Error);
  });
  try {
    for await (const entry of ex) {
      const h = entry.header;
      if (++count > limits.maxMembers) throw limitError(`tar has more than ${limits.maxMembers} members`, { limit: limits.maxMembers });
      if (progress && count % PROGRESS_EVERY === 0) progress(count);
      const name = uniqueName(seen, h.name);
      const type = TYPES[h.type ?? 'file'] ?? 'other';
      const hash = createHash('sha256');
      const keep = want?.has(name) === true;
      const parts: Buffer[] = [];
      let kept = 0;
      // Empty members (directories, links, empty files) skip the async iterator: 200k of them add up.
      if ((h.size ?? 0) === 0) entry.resume();
      else {
        for await (const chunk of entry) {
          hash.update(chunk as Buffer);
          if (keep && kept + (chunk as Buffer).length <= limits.maxMemberBytes) {
            parts.push(chunk as Buffer);
            kept += (chunk as Buffer).length;
          }
        }
      }
      if (keep && kept === (h.size ?? 0)) bodies.set(name, Buffer.concat(parts));
      const meta: Record<string, string | number> = {
        mode: `0${((h.mode ?? 0) & 0o7777).toString(8)}`,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        uname: h.uname ?? '',
        gname: h.gname ?? '',
        mtime: h.mtime ? Math.floor(h.mtime.getTime() / 1000) : 0,
      };
      if (h.linkname) meta.linkname = h.linkname;
      // pax records beyond what the header fields already carry (atime/ctime from GNU tar --posix, xattrs…).
      for (const [k, v] of Object.entries(h.pax ?? {})) {
        if (k === 'path' || k === 'linkpath' || k === 'size' || k === 'mtime' || k === 'uid' || k === 'gid' || k === 'uname' || k === 'gname') continue;
        meta[k === 'atime' || k === 'ctime' ? k : `pax.${k}`] = String(v);
      }
      if (type === 'other') meta.type = String(h.type);
      // The fetch pass (want set) only needs bodies: no second member list in memory.
      if (!want) members.push({ name, type, size: h.size ?? 0, sha256: type === 'file' ? hash.digest('hex') : '', meta });
    }
    await feeding;
  } catch (e) {
    ex.destroy();
    if (e instanceof ReprodError) throw e;
    throw malformed(`malformed tar: ${(e as Error).message}`, e);
  }
  return { members, bodies };
};
