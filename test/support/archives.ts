import { pack } from 'tar-stream';
import { deflateRawSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';

/** Test archive writers (tar via tar-stream, a tiny zip writer, an ar writer, xz via Debian's xz). */
export interface TarEntry {
  name: string;
  body?: string | Buffer;
  mtime?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  type?: 'file' | 'directory' | 'symlink';
  linkname?: string;
  pax?: Record<string, string>;
}

export async function tarBuffer(entries: TarEntry[]): Promise<Buffer> {
  const p = pack();
  const parts: Buffer[] = [];
  p.on('data', (c: unknown) => {
    parts.push(c as Buffer);
  });
  const done = new Promise<void>((res, rej) => {
    p.on('end', () => res());
    p.on('error', rej);
  });
  for (const e of entries) {
    const body = e.body === undefined ? undefined : Buffer.from(e.body);
    await new Promise<void>((res, rej) =>
      p.entry(
        {
          name: e.name,
          mtime: new Date((e.mtime ?? 1_700_000_000) * 1000),
          mode: e.mode ?? 0o644,
          uid: e.uid ?? 0,
          gid: e.gid ?? 0,
          uname: e.uname ?? 'root',
          gname: e.gname ?? 'root',
          type: e.type ?? 'file',
          ...(e.linkname ? { linkname: e.linkname } : {}),
          ...(e.pax ? { pax: e.pax } : {}),
          ...(body ? { size: body.length } : {}),
        },
        body ?? '',
        (err) => (err ? rej(err) : res()),
      ),
    );
  }
  p.finalize();
  await done;
  return Buffer.concat(parts);
}

/** A stored/deflated zip (no zip64) with DOS times and unix modes. */
/**
 * One raw ustar header block (mode 0644, uid/gid 0, mtime 0) with the given type flag:
 * for hand-made tars (malformed ones, or 200k members, where tar-stream's packer is too slow).
 */
export function ustarHeader(name: string, size: number, flag = '0'): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 'latin1');
  h.write('0000644\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write('00000000000\0', 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write(flag, 156, 'latin1');
  h.write('ustar\x0000', 257, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

export function zipBuffer(entries: { name: string; body: string | Buffer; mtime?: Date; mode?: number }[]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let off = 0;
  for (const e of entries) {
    const data = Buffer.from(e.body);
    const comp = deflateRawSync(data);
    const name = Buffer.from(e.name);
    const d = e.mtime ?? new Date(Date.UTC(2024, 0, 1, 0, 0, 0));
    const time = (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1);
    const date = ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate();
    const crc = crc32(data);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(8, 8);
    lh.writeUInt16LE(time, 10);
    lh.writeUInt16LE(date, 12);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(comp.length, 18);
    lh.writeUInt32LE(data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(0x0314, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(8, 10);
    cd.writeUInt16LE(time, 12);
    cd.writeUInt16LE(date, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(comp.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(((0o100000 | (e.mode ?? 0o644)) << 16) >>> 0, 38);
    cd.writeUInt32LE(off, 42);
    locals.push(lh, name, comp);
    central.push(cd, name);
    off += 30 + name.length + comp.length;
  }
  const cdBuf = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdBuf.length, 12);
  end.writeUInt32LE(off, 16);
  return Buffer.concat([...locals, cdBuf, end]);
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

/** An ar archive (the .deb container) with the given members. */
export function arBuffer(entries: { name: string; body: Buffer; mtime?: number; uid?: number; mode?: number }[]): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n')];
  for (const e of entries) {
    const h = `${`${e.name}/`.padEnd(16)}${String(e.mtime ?? 0).padEnd(12)}${String(e.uid ?? 0).padEnd(6)}${'0'.padEnd(6)}${(e.mode ?? 0o100644).toString(8).padEnd(8)}${String(e.body.length).padEnd(10)}\`\n`;
    parts.push(Buffer.from(h, 'latin1'), e.body);
    if (e.body.length % 2) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

export function xzBuffer(buf: Buffer): Buffer {
  return execFileSync('xz', ['-c', '-T1'], { input: buf });
}
