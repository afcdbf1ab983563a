import { lstat, readdir, readlink, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File, limitError } from '../blob.ts';
import { PROGRESS_EVERY, type Member, type Scanner } from './member.ts';

/**
 * A plain directory, walked without following symlinks (a link is compared by
 * its target string, never read through).
 */
export function scanDir(root: string): Scanner {
  return async (_node, limits, want, progress) => {
    const members: Member[] = [];
    const bodies = new Map<string, Buffer>();
    const walk = async (rel: string, depth: number): Promise<void> => {
      if (depth > 64) throw limitError(`directory nesting deeper than 64 at ${rel}`);
      const names = (await readdir(join(root, rel))).sort();
      for (const n of names) {
        const r = rel ? `${rel}/${n}` : n;
        const abs = join(root, r);
        const st = await lstat(abs);
        if (progress && members.length % PROGRESS_EVERY === PROGRESS_EVERY - 1) progress(members.length + 1);
        if (members.length >= limits.maxMembers) throw limitError(`directory has more than ${limits.maxMembers} entries`, { limit: limits.maxMembers });
        const meta: Record<string, string | number> = { mode: `0${(st.mode & 0o7777).toString(8)}`, uid: st.uid, gid: st.gid };
        if (st.isDirectory()) {
          members.push({ name: `${r}/`, type: 'dir', size: 0, sha256: '', meta });
          await walk(r, depth + 1);
        } else if (st.isSymbolicLink()) {
          members.push({ name: r, type: 'symlink', size: 0, sha256: '', meta: { ...meta, linkname: await readlink(abs) } });
        } else if (st.isFile()) {
          // The fetch pass (want set) reads only the wanted files.
          if (!want) members.push({ name: r, type: 'file', size: st.size, sha256: await sha256File(abs), meta });
          else if (want.has(r) && st.size <= limits.maxMemberBytes) bodies.set(r, await readFile(abs));
        } else {
          members.push({ name: r, type: 'other', size: 0, sha256: '', meta });
        }
      }
    };
    await walk('', 0);
    return { members, bodies };
  };
}
