import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { ReprodError, isReprodError } from '../errors.ts';
import { bufferNode, decompressed, fileNode, head, readCapped, sameBytes, type Compression, type Node } from './blob.ts';
import { classifyMeta, cause } from './classify.ts';
import { compareLeaf } from './leaves.ts';
import { DEFAULT_LIMITS, REPROD_DIFF_VERSION, type Cause, type CauseName, type Difference, type DiffLimits, type DiffOptions, type DiffReport } from './model.ts';
import { sniff, type Kind } from './sniff.ts';
import { scanAr } from './formats/ar.ts';
import { scanDir } from './formats/dir.ts';
import { scanTar } from './formats/tar.ts';
import { scanZip } from './formats/zip.ts';
import type { Member, Scanner } from './formats/member.ts';
import { scanTarPair, type PairScan } from './pair.ts';
import type { ClassifyOptions } from './classify.ts';

/**
 * The recursive, archive-aware diff. Fast path first: members are hashed while
 * streaming and only those whose digests differ are fetched (capped) and
 * descended into; header metadata is compared without unpacking content.
 * Nothing is ever written to disk.
 */
interface Ctx {
  limits: DiffLimits;
  classify: ClassifyOptions;
  diffs: Difference[];
  omitted: string[];
  truncated: boolean;
  droppedDiffs: number;
  onProgress?: DiffOptions['onProgress'];
}

const SCANNERS: Partial<Record<Kind, Scanner>> = { tar: scanTar, zip: scanZip, ar: scanAr };
/** Groups of at least this many members with the same metadata change become one finding. */
const GROUP_AT = 4;

export async function diffFiles(a: string, b: string, opts: DiffOptions = {}): Promise<DiffReport> {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const hints = opts.hints ?? opts.context;
  const ctx: Ctx = { limits, classify: hints ? { hints } : {}, diffs: [], omitted: [], truncated: false, droppedDiffs: 0, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) };
  const [sa, sb] = await Promise.all([statOrFail(a), statOrFail(b)]);
  const top = [basename(a) === basename(b) ? basename(a) : `${basename(a)} | ${basename(b)}`];
  if (sa.isDirectory() && sb.isDirectory()) {
    await compareArchive(scanDir(a), scanDir(b), dirNode(a), dirNode(b), top, 0, ctx, true);
  } else if (sa.isDirectory() !== sb.isDirectory()) {
    add(ctx, { path: top, kind: 'content', causes: [cause('unknown', 'a directory on one side, a file on the other')], details: { types: [sa.isDirectory() ? 'directory' : 'file', sb.isDirectory() ? 'directory' : 'file'] } });
  } else if (sa.size !== sb.size || !(await sameBytes(a, b))) {
    await compareNodes(fileNode(a, sa.size), fileNode(b, sb.size), top, 0, ctx, true);
  }
  return finish(opts.labels ?? [a, b], ctx);
}

/** A directory is walked by its scanner, never read as bytes. */
function dirNode(path: string): Node {
  return { source: () => { throw new ReprodError('INTERNAL', `${path} is a directory`); } };
}

async function statOrFail(p: string) {
  try {
    return await stat(p);
  } catch (e) {
    throw new ReprodError('DIFF_FAILED', `cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e, details: { path: p } });
  }
}

function add(ctx: Ctx, d: Difference): void {
  if (ctx.diffs.length >= ctx.limits.maxDifferences) {
    ctx.truncated = true;
    ctx.droppedDiffs++;
    return;
  }
  ctx.diffs.push(d);
}

function finish(labels: [string, string], ctx: Ctx): DiffReport {
  const byCause: Partial<Record<CauseName, number>> = {};
  for (const d of ctx.diffs) for (const c of d.causes) byCause[c.cause] = (byCause[c.cause] ?? 0) + 1;
  const omitted = [...ctx.omitted];
  if (ctx.droppedDiffs) omitted.push(`${ctx.droppedDiffs} difference(s) past the limit of ${ctx.limits.maxDifferences}`);
  return {
    reprodDiffVersion: REPROD_DIFF_VERSION,
    source1: labels[0],
    source2: labels[1],
    identical: ctx.diffs.length === 0 && ctx.droppedDiffs === 0,
    differences: ctx.diffs,
    summary: { byCause, differences: ctx.diffs.length + ctx.droppedDiffs },
    truncated: ctx.truncated,
    ...(omitted.length ? { omitted } : {}),
  };
}

/** Two nodes known (or likely) to differ. Returns how many differences it recorded. */
async function compareNodes(a: Node, b: Node, path: string[], depth: number, ctx: Ctx, top = false): Promise<number> {
  const before = ctx.diffs.length + ctx.droppedDiffs;
  try {
    const [ha, hb] = await Promise.all([head(a, 4096), head(b, 4096)]);
    let ka = sniff(ha);
    let kb = sniff(hb);
    if ((ka === 'json' && kb === 'text') || (ka === 'text' && kb === 'json')) ka = kb = 'text';
    const scanner = SCANNERS[ka];
    const container = ka === 'gzip' || ka === 'zstd' || ka === 'xz' || scanner !== undefined;
    if (ka === kb && container && depth >= ctx.limits.maxDepth) {
      ctx.truncated = true;
      ctx.omitted.push(`${path.join(' → ')}: nesting deeper than ${ctx.limits.maxDepth}, compared as opaque bytes`);
      add(ctx, { path, kind: 'content', causes: [cause('unknown', `nested ${ka} past the depth limit, not opened`)], details: { type: ka, depthLimit: ctx.limits.maxDepth } });
    } else if (ka !== kb) {
      add(ctx, { path, kind: 'content', causes: [cause('unknown', `file type differs: ${ka} vs ${kb}`)], details: { types: [ka, kb] } });
    } else if (ka === 'gzip' || ka === 'zstd' || ka === 'xz') {
      await compareCompressed(ka, a, b, ha, hb, path, depth, ctx, top);
    } else if (scanner) {
      await compareArchive(scanner, scanner, a, b, path, depth, ctx);
    } else {
      const [ba, bb] = await Promise.all([readCapped(a, ctx.limits.maxMemberBytes, path.join('/')), readCapped(b, ctx.limits.maxMemberBytes, path.join('/'))]);
      if (!ba.equals(bb)) add(ctx, compareLeaf(ka, ba, bb, path, ctx.limits, ctx.classify));
    }
  } catch (e) {
    // Top level: the caller gets the coded error. Nested: the report says what was left out.
    if (top || !isReprodError(e) || (e.code !== 'ARCHIVE_LIMIT' && e.code !== 'ARCHIVE_MALFORMED')) throw e;
    ctx.truncated = true;
    ctx.omitted.push(`${path.join(' → ')}: ${e.code}: ${e.message}`);
    add(ctx, { path, kind: 'content', causes: [cause('unknown', `not compared: ${e.message}`)], details: { error: { code: e.code, message: e.message } } });
  }
  return ctx.diffs.length + ctx.droppedDiffs - before;
}

/** gzip header fields (RFC 1952) that differ without the content differing. */
function gzipHeader(h: Buffer): Record<string, string | number> {
  const flags = h[3] ?? 0;
  const out: Record<string, string | number> = { 'gzip.mtime': h.length >= 8 ? h.readUInt32LE(4) : 0, 'gzip.xfl': h[8] ?? 0, 'gzip.os': h[9] ?? 0, 'gzip.flags': flags };
  let p = 10;
  if (flags & 4 && h.length >= 12) p += 2 + h.readUInt16LE(10);
  if (flags & 8) {
    const end = h.indexOf(0, p);
    out['gzip.name'] = h.subarray(p, end < 0 ? h.length : end).toString('latin1');
  }
  return out;
}

function innerName(kind: Compression, h: Buffer, outer: string): string {
  if (kind === 'gzip') {
    const name = gzipHeader(h)['gzip.name'];
    if (typeof name === 'string' && name && !name.includes('/')) return name;
  }
  const base = outer.replace(/\.(tgz)$/i, '.tar').replace(/\.(gz|xz|zst|zstd)$/i, '');
  return base !== outer ? base : `${outer} (${kind}-decompressed)`;
}

/** `top`: the decompressed content of the inputs themselves; its limit errors are the caller's, not a note. */
async function compareCompressed(kind: Compression, a: Node, b: Node, ha: Buffer, hb: Buffer, path: string[], depth: number, ctx: Ctx, top: boolean): Promise<void> {
  let headerDiffs = 0;
  if (kind === 'gzip') {
    const ga = gzipHeader(ha);
    const gb = gzipHeader(hb);
    const fields = Object.keys({ ...ga, ...gb }).filter((k) => ga[k] !== gb[k]);
    if (fields.length) {
      headerDiffs++;
      add(ctx, {
        path,
        kind: 'metadata',
        causes: dedupe(fields.map((f) => classifyMeta(f, ga[f], gb[f]))),
        details: { fields: Object.fromEntries(fields.map((f) => [f, [ga[f] ?? null, gb[f] ?? null]])) },
      });
    }
  }
  const inner = innerName(kind, ha, (path[path.length - 1] ?? '').split(' | ')[0]!);
  const n = await compareNodes(decompressed(a, kind, ctx.limits), decompressed(b, kind, ctx.limits), [...path, inner], depth + 1, ctx, top);
  if (n === 0 && headerDiffs === 0) {
    add(ctx, { path, kind: 'content', causes: [cause('unknown', `same decompressed content, compressed differently (${kind} level or implementation)`)], details: { type: kind } });
  }
}

function dedupe(causes: Cause[]): Cause[] {
  const out: Cause[] = [];
  for (const c of causes) {
    const same = out.find((x) => x.cause === c.cause);
    if (same) same.evidence = `${same.evidence}; ${c.evidence}`.slice(0, 300);
    else out.push(c);
  }
  return out;
}

/** Fields compared from headers; size is implied by the digest. */
const META_FIELDS = ['type', 'mode', 'uid', 'gid', 'uname', 'gname', 'mtime', 'linkname', 'extra', 'method'];

function metaDiff(ma: Member, mb: Member): Record<string, [unknown, unknown]> {
  const out: Record<string, [unknown, unknown]> = {};
  if (ma.type !== mb.type) out.type = [ma.type, mb.type];
  for (const f of META_FIELDS) if (f !== 'type' && ma.meta[f] !== mb.meta[f]) out[f] = [ma.meta[f] ?? null, mb.meta[f] ?? null];
  // Format-specific extras (pax records, atime/ctime) when either side has them.
  for (const f of new Set([...Object.keys(ma.meta), ...Object.keys(mb.meta)])) {
    if (!META_FIELDS.includes(f) && ma.meta[f] !== mb.meta[f]) out[f] = [ma.meta[f] ?? null, mb.meta[f] ?? null];
  }
  return out;
}

async function compareArchive(scanA: Scanner, scanB: Scanner, a: Node, b: Node, path: string[], depth: number, ctx: Ctx, isDir = false): Promise<void> {
  const { members: [ma, mb], differ, bodies: [bodiesA, bodiesB] } = await scanBoth(scanA, scanB, a, b, path, ctx);
  const mapA = new Map(ma.map((m) => [m.name, m]));
  const mapB = new Map(mb.map((m) => [m.name, m]));
  // Order: the common members' sequence on each side.
  const orderA = ma.filter((m) => mapB.has(m.name)).map((m) => m.name);
  const orderB = mb.filter((m) => mapA.has(m.name)).map((m) => m.name);
  if (!isDir && orderA.join('\0') !== orderB.join('\0')) {
    const first = orderA.findIndex((n, i) => n !== orderB[i]);
    add(ctx, {
      path,
      kind: 'order',
      causes: [cause('archive-order', `member #${first + 1} is ${orderA[first]} vs ${orderB[first]}; ${sortedNote(orderA, orderB)}`)],
      details: { firstDifference: first, a: orderA.slice(first, first + 5), b: orderB.slice(first, first + 5) },
    });
  }
  for (const m of ma) if (!mapB.has(m.name)) add(ctx, { path: [...path, m.name], kind: 'removed', causes: [cause('unknown', `${m.type} ${m.name} only in the first`)], details: { size: m.size } });
  for (const m of mb) if (!mapA.has(m.name)) add(ctx, { path: [...path, m.name], kind: 'added', causes: [cause('unknown', `${m.type} ${m.name} only in the second`)], details: { size: m.size } });
  // Metadata, grouped: the same fields changing across many members is one finding.
  const groups = new Map<string, { names: string[]; fields: Record<string, [unknown, unknown]> }>();
  const want = new Set<string>();
  for (const x of ma) {
    const y = mapB.get(x.name);
    if (!y) continue;
    const md = metaDiff(x, y);
    const keys = Object.keys(md).sort();
    if (keys.length) {
      const sig = keys.map((k) => (k === 'mtime' || k === 'atime' || k === 'ctime' ? k : `${k}=${JSON.stringify(md[k])}`)).join('|');
      const g = groups.get(sig) ?? { names: [], fields: md };
      g.names.push(x.name);
      groups.set(sig, g);
    }
    if (x.type === 'file' && y.type === 'file' && (differ ? differ.has(x.name) : x.sha256 !== y.sha256)) want.add(x.name);
  }
  for (const g of groups.values()) {
    const causes = dedupe(Object.entries(g.fields).map(([f, [x, y]]) => classifyMeta(f, x, y)));
    if (g.names.length >= GROUP_AT) {
      add(ctx, { path: [...path, `(${g.names.length} members)`], kind: 'metadata', causes, details: { members: g.names.length, examples: g.names.slice(0, 10), fields: g.fields } });
    } else {
      for (const n of g.names) add(ctx, { path: [...path, n], kind: 'metadata', causes, details: { fields: metaDiff(mapA.get(n)!, mapB.get(n)!) } });
    }
  }
  if (want.size === 0) return;
  // Past the difference limit, differing members are only counted (add() drops them).
  const names = [...want];
  const fetchable = names.slice(0, Math.max(ctx.limits.maxDifferences - ctx.diffs.length, 1));
  // Bodies the scan did not keep are read again, only those (a tar stops after the last one), in batches
  // that fit maxBufferedBytes: many large differing members cost more reads, never more memory.
  const fits = (n: string) => Math.max(mapA.get(n)!.size, mapB.get(n)!.size) <= ctx.limits.maxMemberBytes;
  for (let i = 0; i < fetchable.length; ) {
    const batch = new Set<string>();
    let bytes = 0;
    for (; i < fetchable.length; i++) {
      const n = fetchable[i]!;
      const size = fits(n) && !(bodiesA.has(n) && bodiesB.has(n)) ? mapA.get(n)!.size + mapB.get(n)!.size : 0;
      if (batch.size > 0 && bytes + size > ctx.limits.maxBufferedBytes) break;
      batch.add(n);
      bytes += size;
    }
    await refetch(scanA, a, batch, bodiesA, ctx.limits);
    await refetch(scanB, b, batch, bodiesB, ctx.limits);
    for (const name of batch) await descend(name);
  }
  for (const name of names.slice(fetchable.length)) await descend(name, false);

  async function descend(name: string, open = true): Promise<void> {
    const x = open ? bodiesA.get(name) : undefined;
    const y = open ? bodiesB.get(name) : undefined;
    bodiesA.delete(name);
    bodiesB.delete(name);
    const ma = mapA.get(name)!;
    const mb = mapB.get(name)!;
    if (!x || !y) {
      if (open && !fits(name)) ctx.omitted.push(`${[...path, name].join(' → ')}: over ${ctx.limits.maxMemberBytes} bytes, compared by digest only`);
      add(ctx, { path: [...path, name], kind: 'content', causes: [cause('unknown', 'content differs (not buffered: size or difference limit)')], details: { sha256: [ma.sha256, mb.sha256], sizes: [ma.size, mb.size] } });
      return;
    }
    await compareNodes(bufferNode(x), bufferNode(y), [...path, name], depth + 1, ctx);
  }
}

/** Both sides' members, and whatever bodies of differing members the scan could keep. */
async function scanBoth(scanA: Scanner, scanB: Scanner, a: Node, b: Node, path: string[], ctx: Ctx): Promise<PairScan | (Omit<PairScan, 'differ'> & { differ?: undefined })> {
  if (scanA === scanTar && scanB === scanTar) {
    return scanTarPair(a, b, ctx.limits, ctx.onProgress ? (n) => ctx.onProgress?.({ path, members: n }) : undefined);
  }
  const seen = [0, 0];
  const tick = (side: 0 | 1) => (ctx.onProgress ? (n: number) => {
    seen[side] = n;
    ctx.onProgress?.({ path, members: seen[0]! + seen[1]! });
  } : undefined);
  // Random-access formats (zip, ar, directories): one side after the other, digests only; differing
  // members are read afterwards, each on its own.
  const sa = await scanA(a, ctx.limits, undefined, tick(0));
  const sb = await scanB(b, ctx.limits, undefined, tick(1));
  return { members: [sa.members, sb.members], bodies: [new Map(), new Map()] };
}

async function refetch(scan: Scanner, node: Node, fetch: Set<string>, bodies: Map<string, Buffer>, limits: DiffLimits): Promise<void> {
  const need = new Set([...fetch].filter((n) => !bodies.has(n)));
  if (need.size === 0) return;
  for (const [n, body] of (await scan(node, limits, need)).bodies) bodies.set(n, body);
}

function sortedNote(a: string[], b: string[]): string {
  const sorted = (l: string[]) => l.every((x, i) => i === 0 || l[i - 1]! <= x);
  if (sorted(a) && !sorted(b)) return 'the first is sorted by name, the second is not';
  if (sorted(b) && !sorted(a)) return 'the second is sorted by name, the first is not';
  return 'neither side is sorted by name';
}
