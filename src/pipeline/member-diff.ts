import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { createTwoFilesPatch } from 'diff';
import tar from 'tar-stream';
import { ReprodError } from '../errors.ts';
import type { CauseSummary } from '../publish/statements.ts';

/**
 * A small built-in explanation of a mismatch, used when src/compare's diff
 * engine is not installed: gzip header, tar members (content digest, mtime,
 * owner, mode, order) and a unified diff of small text files. Streaming and
 * bounded; nothing is extracted to disk.
 */
export interface MemberDifference {
  path: string;
  kind: 'content' | 'metadata' | 'order' | 'added' | 'removed';
  detail: string;
  cause?: string;
}

export interface BuiltinDiff {
  differences: MemberDifference[];
  causes: CauseSummary[];
  unifiedDiff?: string;
  truncated: boolean;
}

const MAX_MEMBERS = 100_000;
const MAX_TEXT_BYTES = 256 * 1024;
const MAX_DIFFERENCES = 200;

interface Member {
  name: string;
  index: number;
  sha256: string;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
}

const FIXES: Record<string, string> = {
  'archive-mtime': 'tar --mtime=@$SOURCE_DATE_EPOCH --clamp-mtime',
  'archive-order': 'tar --sort=name',
  'file-ownership': 'tar --owner=0 --group=0 --numeric-owner',
  'file-permissions': 'set modes explicitly (umask 022, chmod) before archiving',
  'gzip-header': 'gzip -n (no name, no timestamp)',
  'embedded-timestamp': 'take dates from SOURCE_DATE_EPOCH instead of the clock',
};

async function head(path: string, n: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(n), 0, n, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function isGzip(b: Buffer): boolean {
  return b.length >= 10 && b[0] === 0x1f && b[1] === 0x8b;
}

async function tarMembers(path: string, gz: boolean): Promise<Member[]> {
  const members: Member[] = [];
  const extract = tar.extract();
  const input = createReadStream(path);
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (h, stream, next) => {
      if (members.length >= MAX_MEMBERS) {
        reject(new ReprodError('ARCHIVE_LIMIT', `${path}: more than ${MAX_MEMBERS} members`));
        return;
      }
      const hash = createHash('sha256');
      stream.on('data', (c: unknown) => hash.update(c as Buffer));
      stream.on('end', () => {
        members.push({ name: h.name, index: members.length, sha256: hash.digest('hex'), size: h.size ?? 0, mode: h.mode ?? 0, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: h.mtime ? Math.floor(h.mtime.getTime() / 1000) : 0 });
        next();
      });
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', (e) => reject(new ReprodError('ARCHIVE_MALFORMED', `${path}: ${e.message}`, { cause: e })));
    input.on('error', reject);
  });
  (gz ? input.pipe(createGunzip()).on('error', (e) => extract.destroy(e)) : input).pipe(extract);
  await done;
  return members;
}

async function looksLikeTar(path: string, gz: boolean): Promise<boolean> {
  if (!gz) return (await head(path, 263)).subarray(257, 262).toString('latin1') === 'ustar';
  const first = await new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const s = createReadStream(path).pipe(createGunzip());
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= 263) s.destroy();
    });
    s.on('close', () => resolve(Buffer.concat(chunks)));
    s.on('error', () => resolve(Buffer.concat(chunks)));
  });
  return first.subarray(257, 262).toString('latin1') === 'ustar';
}

function isText(b: Buffer): boolean {
  return !b.includes(0);
}

/** Compares two files; `upstream` is the published one, `rebuilt` ours. */
export async function builtinDiff(upstream: string, rebuilt: string): Promise<BuiltinDiff> {
  const diffs: MemberDifference[] = [];
  const a = await head(upstream, 10);
  const b = await head(rebuilt, 10);
  const gz = isGzip(a) && isGzip(b);
  if (gz && a.readUInt32LE(4) !== b.readUInt32LE(4)) {
    diffs.push({ path: '(gzip header)', kind: 'metadata', detail: `mtime ${a.readUInt32LE(4)} vs ${b.readUInt32LE(4)}`, cause: 'gzip-header' });
  }
  if ((await looksLikeTar(upstream, gz)) && (await looksLikeTar(rebuilt, gz))) {
    const [ma, mb] = await Promise.all([tarMembers(upstream, gz), tarMembers(rebuilt, gz)]);
    const byName = new Map(mb.map((m) => [m.name, m]));
    const names = new Set(ma.map((m) => m.name));
    for (const m of ma) {
      const o = byName.get(m.name);
      if (!o) {
        diffs.push({ path: m.name, kind: 'removed', detail: 'only in the upstream archive' });
        continue;
      }
      if (m.sha256 !== o.sha256) diffs.push({ path: m.name, kind: 'content', detail: `content differs (${m.size} vs ${o.size} bytes)` });
      if (m.mtime !== o.mtime) diffs.push({ path: m.name, kind: 'metadata', detail: `mtime ${m.mtime} vs ${o.mtime}`, cause: 'archive-mtime' });
      if (m.uid !== o.uid || m.gid !== o.gid) diffs.push({ path: m.name, kind: 'metadata', detail: `owner ${m.uid}:${m.gid} vs ${o.uid}:${o.gid}`, cause: 'file-ownership' });
      if (m.mode !== o.mode) diffs.push({ path: m.name, kind: 'metadata', detail: `mode ${m.mode.toString(8)} vs ${o.mode.toString(8)}`, cause: 'file-permissions' });
      if (m.index !== o.index) diffs.push({ path: m.name, kind: 'order', detail: `member #${m.index} vs #${o.index}`, cause: 'archive-order' });
    }
    for (const m of mb) if (!names.has(m.name)) diffs.push({ path: m.name, kind: 'added', detail: 'only in the rebuilt archive' });
  } else if (!gz && (await stat(upstream)).size <= MAX_TEXT_BYTES && (await stat(rebuilt)).size <= MAX_TEXT_BYTES) {
    const [ta, tb] = await Promise.all([head(upstream, MAX_TEXT_BYTES), head(rebuilt, MAX_TEXT_BYTES)]);
    if (isText(ta) && isText(tb)) {
      const patch = createTwoFilesPatch('upstream', 'rebuilt', ta.toString('utf8'), tb.toString('utf8'), '', '', { context: 2 });
      const timeLike = /\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d|\b1[6-9]\d{8}\b/.test(patch.split('\n').filter((l) => /^[-+][^-+]/.test(l)).join('\n'));
      diffs.push({ path: '(file)', kind: 'content', detail: 'text differs', ...(timeLike ? { cause: 'embedded-timestamp' } : {}) });
      return { differences: diffs, causes: summarise(diffs), unifiedDiff: patch, truncated: false };
    }
  }
  if (diffs.length === 0) diffs.push({ path: '(file)', kind: 'content', detail: 'bytes differ' });
  return { differences: diffs.slice(0, MAX_DIFFERENCES), causes: summarise(diffs), truncated: diffs.length > MAX_DIFFERENCES };
}

/** One cause summary per cause, naming where it was first seen and how many times. */
function summarise(diffs: MemberDifference[]): CauseSummary[] {
  const groups = new Map<string, MemberDifference[]>();
  for (const d of diffs) {
    const k = d.cause ?? 'unknown';
    groups.set(k, [...(groups.get(k) ?? []), d]);
  }
  return [...groups].map(([kind, ds]) => ({
    kind,
    where: ds[0]!.path,
    summary: `${ds.length} difference(s), e.g. ${ds[0]!.path}: ${ds[0]!.detail}${FIXES[kind] ? `; usual fix: ${FIXES[kind]}` : ''}`,
  }));
}
