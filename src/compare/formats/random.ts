import { open as openFile } from 'node:fs/promises';
import { readCapped, type Node } from '../blob.ts';
import type { DiffLimits } from '../model.ts';

/** Positioned reads over a node: the file itself when on disk, else the (capped) buffered bytes. */
export interface RandomAccess {
  size: number;
  read(pos: number, len: number): Promise<Buffer>;
  close(): Promise<void>;
}

export async function randomAccess(node: Node, limits: DiffLimits, what: string): Promise<RandomAccess> {
  if (node.file && node.size !== undefined) {
    const fh = await openFile(node.file, 'r');
    return {
      size: node.size,
      read: async (pos, len) => {
        const buf = Buffer.alloc(Math.max(0, Math.min(len, node.size! - pos)));
        if (buf.length > 0) await fh.read(buf, 0, buf.length, pos);
        return buf;
      },
      close: () => fh.close(),
    };
  }
  const buf = await readCapped(node, limits.maxMemberBytes, what);
  return { size: buf.length, read: async (pos, len) => buf.subarray(pos, Math.min(buf.length, pos + len)), close: async () => {} };
}
