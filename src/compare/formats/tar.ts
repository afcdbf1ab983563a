import { createHash } from 'node:crypto';
import { limitError, malformed } from '../blob.ts';
import type { DiffLimits } from '../model.ts';
import type { Source } from '../source.ts';
import { checksumOk, cstr, decodePax, intern, isZero, modeString, num } from './tar-fields.ts';
import { PROGRESS_EVERY, uniqueName, type Member, type Scanner } from './member.ts';

/** A member's header as read, before its content. */
export interface TarHeader {
  name: string;
  type: Member['type'];
  size: number;
  meta: Member['meta'];
}

const EMPTY = Buffer.alloc(0);
/** pax and GNU long-name records larger than this are refused (tar-stream's bound too). */
const MAX_LONG_HEADER = 4 * 1024 * 1024;
const OTHER: Record<number, string> = { 0x33: 'character-device', 0x34: 'block-device', 0x36: 'fifo' };
/** pax records that are header fields (applied to them), not extra metadata. */
const PAX_FIELDS = new Set(['path', 'linkpath', 'size', 'mtime', 'uid', 'gid', 'uname', 'gname']);

/**
 * tar (v7, ustar, pax, GNU long names, base-256 numbers) read pull-style from a
 * Source: headers decoded in place, content handed out as subarrays of the
 * source's reused buffers, so a scan allocates almost nothing per member.
 */
export class TarReader {
  #src: Source;
  #limits: DiffLimits;
  #chunk: Buffer = EMPTY;
  #off = 0;
  #eof = false;
  #hdr = Buffer.alloc(512);
  #remaining = 0;
  #padding = 0;
  #count = 0;
  #seen = new Map<string, number>();
  #global: Record<string, string> = {};
  /** Bytes of the tar stream consumed so far. */
  position = 0;

  constructor(src: Source, limits: DiffLimits) {
    this.#src = src;
    this.#limits = limits;
  }

  get count(): number {
    return this.#count;
  }

  /** The next member's header (the previous member's content is skipped if unread); null at the end. */
  async next(): Promise<TarHeader | null> {
    if (this.#remaining + this.#padding > 0) await this.content();
    let pax: Record<string, string> | undefined;
    let longName: string | undefined;
    let longLink: string | undefined;
    let zeros = 0;
    for (;;) {
      const h = await this.#block();
      if (h === null) {
        if (pax || longName !== undefined || longLink !== undefined) throw malformed('malformed tar: unexpected end of data after an extended header');
        return null;
      }
      if (isZero(h)) {
        // End of archive: two zero blocks. The rest (block-factor padding) is read, not parsed.
        if (++zeros === 2) {
          while (await this.#fill()) {
            this.position += this.#chunk.length - this.#off;
            this.#off = this.#chunk.length;
          }
          return null;
        }
        continue;
      }
      zeros = 0;
      if (!checksumOk(h)) throw malformed(`malformed tar: invalid header checksum at offset ${this.position - 512}`);
      const flag = h[156]!;
      const size = num(h, 124, 12);
      if (!Number.isSafeInteger(size) || size < 0) throw malformed(`malformed tar: bad size at offset ${this.position - 512}`);
      if (flag === 0x78 || flag === 0x67 || flag === 0x4c || flag === 0x4b) {
        if (size > MAX_LONG_HEADER) throw limitError(`tar extended header of ${size} bytes`, { limit: MAX_LONG_HEADER });
        const data = await this.#take(size);
        if (flag === 0x78) pax = { ...pax, ...decodePax(data) };
        else if (flag === 0x67) this.#global = { ...this.#global, ...decodePax(data) };
        else if (flag === 0x4c) longName = cstr(data, 0, data.length);
        else longLink = cstr(data, 0, data.length);
        continue;
      }
      return this.#member(h, flag, size, { ...this.#global, ...pax }, pax ?? {}, longName, longLink);
    }
  }

  #member(h: Buffer, flag: number, headerSize: number, fields: Record<string, string>, pax: Record<string, string>, longName?: string, longLink?: string): TarHeader {
    let name = cstr(h, 0, 100);
    const ustar = h.toString('latin1', 257, 263) === 'ustar\0';
    if (ustar && h[345] !== 0) name = `${cstr(h, 345, 155)}/${name}`;
    name = fields.path ?? longName ?? name;
    const linkname = fields.linkpath ?? longLink ?? cstr(h, 157, 100);
    let type: Member['type'] = flag === 0x35 ? 'dir' : flag === 0x32 ? 'symlink' : flag === 0x31 ? 'hardlink' : OTHER[flag] ? 'other' : 'file';
    if (type === 'file' && (flag === 0 || flag === 0x30) && name.endsWith('/')) type = 'dir'; // old tars: a trailing slash
    const size = fields.size !== undefined ? Number.parseInt(fields.size, 10) : headerSize;
    if (!Number.isSafeInteger(size) || size < 0) throw malformed(`malformed tar: bad pax size for ${name}`);
    if (++this.#count > this.#limits.maxMembers) throw limitError(`tar has more than ${this.#limits.maxMembers} members`, { limit: this.#limits.maxMembers });
    const meta: Member['meta'] = {
      mode: modeString(num(h, 100, 8) & 0o7777),
      uid: fields.uid !== undefined ? Number(fields.uid) : num(h, 108, 8),
      gid: fields.gid !== undefined ? Number(fields.gid) : num(h, 116, 8),
      uname: intern(fields.uname ?? cstr(h, 265, 32)),
      gname: intern(fields.gname ?? cstr(h, 297, 32)),
      mtime: fields.mtime !== undefined ? Math.floor(Number(fields.mtime)) : num(h, 136, 12),
    };
    if (linkname) meta.linkname = linkname;
    // Per-member pax records beyond the header fields (atime/ctime from GNU tar --posix, xattrs…).
    for (const [k, v] of Object.entries(pax)) {
      if (!PAX_FIELDS.has(k)) meta[k === 'atime' || k === 'ctime' ? k : `pax.${k}`] = v;
    }
    if (type === 'other') meta.type = OTHER[flag]!;
    // Directories, links and devices have no content to compare (a hard link's size field is 0).
    this.#remaining = size;
    this.#padding = (512 - (size % 512)) % 512;
    return { name: uniqueName(this.#seen, name), type, size: type === 'file' ? size : 0, meta };
  }

  /** The current member's content, as subarrays valid only during each call; then its padding is skipped. */
  async content(fn?: (chunk: Buffer) => void): Promise<void> {
    while (this.#remaining > 0) {
      if (this.#off >= this.#chunk.length && !(await this.#fill())) throw malformed('malformed tar: unexpected end of data');
      const n = Math.min(this.#remaining, this.#chunk.length - this.#off);
      fn?.(this.#chunk.subarray(this.#off, this.#off + n));
      this.#off += n;
      this.position += n;
      this.#remaining -= n;
    }
    while (this.#padding > 0) {
      if (this.#off >= this.#chunk.length && !(await this.#fill())) throw malformed('malformed tar: unexpected end of data');
      const n = Math.min(this.#padding, this.#chunk.length - this.#off);
      this.#off += n;
      this.position += n;
      this.#padding -= n;
    }
  }

  /** The current member's content as one new buffer. */
  async body(size: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    await this.content((c) => (at += c.copy(out, at)));
    return out;
  }

  /** The current member's sha256. */
  async digest(): Promise<string> {
    const h = createHash('sha256');
    await this.content((c) => h.update(c));
    return h.digest('hex');
  }

  close(): Promise<void> {
    return this.#src.close();
  }

  async #fill(): Promise<boolean> {
    while (this.#off >= this.#chunk.length) {
      if (this.#eof) return false;
      const c = await this.#src.read();
      if (c === null) {
        this.#eof = true;
        this.#chunk = EMPTY;
        this.#off = 0;
        return false;
      }
      this.#chunk = c;
      this.#off = 0;
    }
    return true;
  }

  /** The next 512-byte block (in place when the chunk holds it whole), or null at a clean end. */
  async #block(): Promise<Buffer | null> {
    if (this.#off >= this.#chunk.length && !(await this.#fill())) return null;
    if (this.#chunk.length - this.#off >= 512) {
      const b = this.#chunk.subarray(this.#off, this.#off + 512);
      this.#off += 512;
      this.position += 512;
      return b;
    }
    let got = 0;
    while (got < 512) {
      if (!(await this.#fill())) throw malformed('malformed tar: unexpected end of data in a header');
      const n = this.#chunk.copy(this.#hdr, got, this.#off, Math.min(this.#chunk.length, this.#off + 512 - got));
      this.#off += n;
      got += n;
    }
    this.position += 512;
    return this.#hdr;
  }

  /** An extended header's data (copied: it outlives the chunk), padding skipped. */
  async #take(size: number): Promise<Buffer> {
    this.#remaining = size;
    this.#padding = (512 - (size % 512)) % 512;
    return this.body(size);
  }
}

/**
 * tar as a Scanner: every member with its digest, or (with `want`) only the
 * bodies of the wanted members, stopping once all of them were read.
 */
export const scanTar: Scanner = async (node, limits, want, progress) => {
  const members: Member[] = [];
  const bodies = new Map<string, Buffer>();
  const r = new TarReader(node.source(), limits);
  let found = 0;
  try {
    for (let h = await r.next(); h; h = await r.next()) {
      if (progress && r.count % PROGRESS_EVERY === 0) progress(r.count);
      if (want) {
        if (!want.has(h.name)) continue;
        if (h.type === 'file' && h.size <= limits.maxMemberBytes) bodies.set(h.name, await r.body(h.size));
        if (++found === want.size) break;
      } else {
        members.push({ ...h, sha256: h.type === 'file' ? await r.digest() : '' });
      }
    }
  } finally {
    await r.close();
  }
  return { members, bodies };
};
