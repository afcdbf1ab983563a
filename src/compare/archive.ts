import { bufferNode, type Node } from './blob.ts';
import { classifyMeta, cause } from './classify.ts';
import { add, dedupe, type Ctx } from './ctx.ts';
import type { DiffLimits } from './model.ts';
import { scanTarPair, type PairScan } from './pair.ts';
import { scanTar } from './formats/tar.ts';
import type { Member, Scanner } from './formats/member.ts';

/** Groups of at least this many members with the same metadata change become one finding. */
const GROUP_AT = 4;

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

/** Two archives (or directories): order, added/removed members, grouped metadata, then the differing members' content. */
export async function compareArchive(scanA: Scanner, scanB: Scanner, a: Node, b: Node, path: string[], depth: number, ctx: Ctx, isDir = false): Promise<void> {
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
    await ctx.descend(bufferNode(x), bufferNode(y), [...path, name], depth + 1);
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
