import { hash } from 'node:crypto';
import { sha256, type Node } from './blob.ts';
import type { DiffLimits } from './model.ts';
import { Ring, type Slot } from './ring.ts';
import { TarReader, type TarHeader } from './formats/tar.ts';
import { PROGRESS_EVERY, type Member } from './formats/member.ts';

/**
 * Two tars read once, side by side. Whichever side is behind (in tar bytes)
 * reads its next member; a member whose counterpart was not read yet keeps its
 * body in a small arena until it is, and is then compared byte for byte. In the
 * same order that needs a few KiB; in another order the arena overflows and
 * the oldest bodies are dropped (their digests stay), to be read again only if
 * they turn out to differ. This replaced a hash pass plus a fetch pass over
 * each side (four decompressions of the inputs instead of two).
 */
export interface PairScan {
  members: [Member[], Member[]];
  /** File members on both sides whose content differs. */
  differ: Set<string>;
  /** Bodies of differing members kept during the scan (a missing one is read again by the caller). */
  bodies: [Map<string, Buffer>, Map<string, Buffer>];
}

/** Arena for bodies whose counterpart is not read yet (shared by both sides; holds members up to half its size). */
const PENDING_BYTES = 2 * 1024 * 1024;
/** Members up to this size are held in memory while compared; larger ones are hashed, and read again if they differ. */
const HELD_BYTES = 4 * 1024 * 1024;

interface Side {
  r: TarReader;
  members: Member[];
  byName: Map<string, Member>;
  pending: Map<string, Slot>;
  bodies: Map<string, Buffer>;
  scratch?: Buffer;
  /** Largest member body held in memory while compared. */
  cap: number;
  /** Bytes of differing bodies kept so far (both sides) and the most allowed (limits.maxBufferedBytes). */
  kept: { bytes: number; max: number };
  done: boolean;
}

export async function scanTarPair(a: Node, b: Node, limits: DiffLimits, progress?: (members: number) => void): Promise<PairScan> {
  const cap = Math.min(limits.maxMemberBytes, HELD_BYTES);
  const kept = { bytes: 0, max: limits.maxBufferedBytes };
  const side = (n: Node): Side => ({ r: new TarReader(n.source(), limits), members: [], byName: new Map(), pending: new Map(), bodies: new Map(), cap, kept, done: false });
  const sides = [side(a), side(b)] as const;
  const ring = new Ring(PENDING_BYTES);
  const differ = new Set<string>();
  let count = 0;
  try {
    while (!sides[0].done || !sides[1].done) {
      const x = sides[0].done ? 1 : sides[1].done ? 0 : sides[0].r.position <= sides[1].r.position ? 0 : 1;
      const me = sides[x];
      const h = await me.r.next();
      if (h === null) {
        me.done = true;
        continue;
      }
      if (progress && ++count % PROGRESS_EVERY === 0) progress(count);
      await read(h, me, sides[1 - x]!, ring, differ);
    }
  } finally {
    await Promise.all(sides.map((s) => s.r.close()));
  }
  return { members: [sides[0].members, sides[1].members], differ, bodies: [sides[0].bodies, sides[1].bodies] };
}

async function read(h: TarHeader, me: Side, them: Side, ring: Ring, differ: Set<string>): Promise<void> {
  const m: Member = { ...h, sha256: '' };
  me.members.push(m);
  me.byName.set(m.name, m);
  if (m.type !== 'file') return;
  const other = them.byName.get(m.name);
  const keepable = m.size <= me.cap;
  if (!other) {
    // Not seen on the other side yet: digest always, body while the arena has room.
    const slot = keepable ? ring.alloc(m.size) : undefined;
    if (slot) {
      const dst = ring.bytes(slot);
      let at = 0;
      await me.r.content((c) => (at += c.copy(dst, at)));
      m.sha256 = hash('sha256', dst); // one-shot: no Hash object per member
      me.pending.set(m.name, slot);
    } else {
      m.sha256 = await me.r.digest();
    }
    return;
  }
  const slot = them.pending.get(m.name);
  if (slot) them.pending.delete(m.name);
  try {
    if (other.type !== 'file') {
      m.sha256 = await me.r.digest();
    } else if (slot && !slot.evicted && keepable && m.size === other.size) {
      await compareWithKept(m, me, them, ring.bytes(slot), other, differ);
    } else {
      await compareByDigest(m, me, them, slot && !slot.evicted ? ring.bytes(slot) : undefined, other, differ, keepable);
    }
  } finally {
    if (slot) ring.free(slot);
  }
}

/** Byte for byte against the other side's kept body; our own body materialises from the first differing chunk. */
async function compareWithKept(m: Member, me: Side, them: Side, theirs: Buffer, other: Member, differ: Set<string>): Promise<void> {
  let at = 0;
  let own: Buffer | undefined;
  await me.r.content((c) => {
    if (!own && !c.equals(theirs.subarray(at, at + c.length))) {
      own = Buffer.allocUnsafe(m.size);
      theirs.copy(own, 0, 0, at); // the prefix so far was equal
    }
    if (own) c.copy(own, at);
    at += c.length;
  });
  if (!own) {
    m.sha256 = other.sha256;
    return;
  }
  m.sha256 = sha256(own);
  differ.add(m.name);
  keep(me, m.name, own, false);
  keep(them, m.name, theirs, true);
}

/** The other body is gone (or sizes differ): digests decide; our body is kept if it differs. */
async function compareByDigest(m: Member, me: Side, them: Side, theirs: Buffer | undefined, other: Member, differ: Set<string>, keepable: boolean): Promise<void> {
  let own: Buffer | undefined;
  if (keepable) {
    // Sized once for the largest member it may hold: only the pages used count, and growing it step by step made garbage.
    me.scratch ??= Buffer.allocUnsafe(me.cap);
    const dst = me.scratch;
    let at = 0;
    await me.r.content((c) => (at += c.copy(dst, at)));
    own = dst.subarray(0, m.size);
    m.sha256 = hash('sha256', own);
  } else {
    m.sha256 = await me.r.digest();
  }
  if (m.sha256 === other.sha256) return;
  differ.add(m.name);
  if (own) keep(me, m.name, own, true);
  if (theirs) keep(them, m.name, theirs, true);
}

/** A differing body for later (copied out of the arena or scratch, which are reused), within the budget; else it is read again. */
function keep(s: Side, name: string, body: Buffer, copy: boolean): void {
  if (s.kept.bytes + body.length > s.kept.max) return;
  s.kept.bytes += body.length;
  s.bodies.set(name, copy ? Buffer.from(body) : body);
}
