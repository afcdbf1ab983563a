import type { Node } from '../blob.ts';
import type { DiffLimits } from '../model.ts';

/** One entry of an archive or directory, as read from its header plus a streamed digest. */
export interface Member {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  size: number;
  /** sha256 of the content; '' for entries without content. */
  sha256: string;
  /** Header metadata compared without unpacking: mtime, mode, uid, gid, uname, gname, linkname… */
  meta: Record<string, string | number>;
}

export interface Scan {
  members: Member[];
  /** Content of the members asked for in `want` (up to maxMemberBytes each). */
  bodies: Map<string, Buffer>;
}

/** Reads an archive's headers and hashes members; buffers only the members in `want`. */
export type Scanner = (node: Node, limits: DiffLimits, want?: ReadonlySet<string>, progress?: (members: number) => void) => Promise<Scan>;

/** How often scanners report progress, in members. */
export const PROGRESS_EVERY = 5000;

/** Duplicate names in one archive get `#2`, `#3`… so each keeps its own identity. */
export function uniqueName(seen: Map<string, number>, name: string): string {
  const n = (seen.get(name) ?? 0) + 1;
  seen.set(name, n);
  return n === 1 ? name : `${name}#${n}`;
}
