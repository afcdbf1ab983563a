import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { ReprodError, isReprodError } from '../errors.ts';
import { decompressed, fileNode, head, readCapped, sameBytes, type Compression, type Node } from './blob.ts';
import { compareArchive } from './archive.ts';
import { classifyMeta, cause } from './classify.ts';
import { add, dedupe, type Ctx } from './ctx.ts';
import { compareLeaf } from './leaves.ts';
import { DEFAULT_LIMITS, REPROD_DIFF_VERSION, type CauseName, type DiffOptions, type DiffReport } from './model.ts';
import { sniff, type Kind } from './sniff.ts';
import { scanAr } from './formats/ar.ts';
import { scanDir } from './formats/dir.ts';
import { scanTar } from './formats/tar.ts';
import { scanZip } from './formats/zip.ts';
import type { Scanner } from './formats/member.ts';

/**
 * The recursive, archive-aware diff. Fast path first: two tars are read once,
 * side by side, comparing members as they meet (pair.ts); other archives hash
 * their members and re-read only those whose digests differ; header metadata
 * is compared without unpacking content. Nothing is ever written to disk.
 */
const SCANNERS: Partial<Record<Kind, Scanner>> = { tar: scanTar, zip: scanZip, ar: scanAr };

export async function diffFiles(a: string, b: string, opts: DiffOptions = {}): Promise<DiffReport> {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const hints = opts.hints ?? opts.context;
  const ctx: Ctx = {
    limits,
    classify: hints ? { hints } : {},
    diffs: [],
    omitted: [],
    truncated: false,
    droppedDiffs: 0,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    descend: (x, y, path, depth) => compareNodes(x, y, path, depth, ctx),
  };
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

