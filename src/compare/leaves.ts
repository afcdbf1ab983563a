import { structuredPatch, formatPatch } from 'diff';
import { classifyText, cause, type ClassifyOptions } from './classify.ts';
import { parseElf } from './elf.ts';
import type { Cause, Difference, DiffLimits } from './model.ts';
import type { Kind } from './sniff.ts';

/**
 * Leaf comparisons: the two sides' bytes are known to differ; say where and why.
 * Pure: buffers in, a Difference out.
 */
export function compareLeaf(kind: Kind, a: Buffer, b: Buffer, path: string[], limits: DiffLimits, opts: ClassifyOptions): Difference {
  if (kind === 'json') {
    const j = compareJson(a, b, path, limits, opts);
    if (j) return j;
  }
  if (kind === 'text' || kind === 'json') return compareText(a.toString('utf8'), b.toString('utf8'), path, limits, opts);
  if (kind === 'elf') return compareElf(a, b, path, limits, opts);
  return compareBinary(a, b, path, opts);
}

export function compareText(ta: string, tb: string, path: string[], limits: DiffLimits, opts: ClassifyOptions, label = 'text'): Difference {
  const p = structuredPatch('a', 'b', ta, tb, undefined, undefined, { context: 3 });
  const removed: string[] = [];
  const added: string[] = [];
  const causes: Cause[] = [];
  for (const h of p.hunks) {
    const r = h.lines.filter((l) => l.startsWith('-')).map((l) => l.slice(1));
    const ad = h.lines.filter((l) => l.startsWith('+')).map((l) => l.slice(1));
    removed.push(...r);
    added.push(...ad);
    for (const c of classifyText(r, ad, opts)) if (!causes.some((x) => x.cause === c.cause)) causes.push(c);
  }
  // Lines that only moved between hunks: classify the whole change as one region too.
  for (const c of classifyText(removed, added, opts)) if (c.cause !== 'unknown' && !causes.some((x) => x.cause === c.cause)) causes.push(c);
  const realCauses = causes.filter((c) => c.cause !== 'unknown');
  let unified = formatPatch(p).split('\n').filter((l) => !l.startsWith('====')).join('\n');
  if (unified.length > limits.maxUnifiedDiffBytes) unified = `${unified.slice(0, limits.maxUnifiedDiffBytes)}\n... (unified diff cut at ${limits.maxUnifiedDiffBytes} bytes)`;
  return {
    path,
    kind: 'content',
    causes: realCauses.length ? realCauses : causes.slice(0, 1),
    unifiedDiff: unified,
    details: { type: label, linesRemoved: removed.length, linesAdded: added.length },
  };
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  return v;
}

function changedPaths(x: unknown, y: unknown, at: string, out: { path: string; a: unknown; b: unknown }[]): void {
  if (out.length > 200) return;
  if (x && y && typeof x === 'object' && typeof y === 'object' && Array.isArray(x) === Array.isArray(y)) {
    const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
    for (const k of keys) changedPaths((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], Array.isArray(x) ? `${at}[${k}]` : `${at}.${k}`, out);
    return;
  }
  if (JSON.stringify(x) !== JSON.stringify(y)) out.push({ path: at || '.', a: x, b: y });
}

/** Structural JSON diff: key order is ignored, and reported separately when it is the only change. */
function compareJson(a: Buffer, b: Buffer, path: string[], limits: DiffLimits, opts: ClassifyOptions): Difference | undefined {
  let ja: unknown;
  let jb: unknown;
  try {
    ja = JSON.parse(a.toString('utf8'));
    jb = JSON.parse(b.toString('utf8'));
  } catch {
    return undefined;
  }
  const ca = JSON.stringify(canonical(ja), null, 2);
  const cb = JSON.stringify(canonical(jb), null, 2);
  if (ca === cb) {
    const sameOrder = JSON.stringify(ja) === JSON.stringify(jb);
    return {
      path,
      kind: 'content',
      causes: [sameOrder ? cause('unknown', 'same JSON value, other whitespace or formatting') : cause('map-order', 'same JSON value, keys in another order')],
      details: { type: 'json', keyOrderOnly: !sameOrder, formattingOnly: sameOrder },
    };
  }
  const changes: { path: string; a: unknown; b: unknown }[] = [];
  changedPaths(ja, jb, '', changes);
  const d = compareText(`${ca}\n`, `${cb}\n`, path, limits, opts, 'json');
  const keyOrderAlsoDiffers = JSON.stringify(canonical(ja)) !== JSON.stringify(ja) || JSON.stringify(canonical(jb)) !== JSON.stringify(jb) ? JSON.stringify(Object.keys(ja as object ?? {})) !== JSON.stringify(Object.keys(jb as object ?? {})) : false;
  d.details = { ...d.details, changed: changes.slice(0, 50).map((c) => ({ path: c.path, a: c.a, b: c.b })), keyOrderAlsoDiffers };
  return d;
}

/** Printable ASCII runs of 6+ bytes, like strings(1). */
export function printableStrings(buf: Buffer, max = 50_000): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= buf.length && out.length < max; i++) {
    const c = i < buf.length ? buf[i]! : 0;
    const printable = c >= 32 && c < 127;
    if (printable && start < 0) start = i;
    else if (!printable && start >= 0) {
      if (i - start >= 6) out.push(buf.subarray(start, i).toString('latin1'));
      start = -1;
    }
  }
  return out;
}

function stringsDiff(a: Buffer, b: Buffer): { onlyA: string[]; onlyB: string[] } {
  const sa = printableStrings(a);
  const sb = printableStrings(b);
  const setA = new Set(sa);
  const setB = new Set(sb);
  return { onlyA: sa.filter((s) => !setB.has(s)).slice(0, 200), onlyB: sb.filter((s) => !setA.has(s)).slice(0, 200) };
}

function hexLine(buf: Buffer, at: number): string {
  const s = Math.max(0, at - 8);
  const bytes = buf.subarray(s, s + 24);
  return `${s.toString(16).padStart(8, '0')}: ${bytes.toString('hex').replace(/(..)/g, '$1 ').trim()}  ${bytes.toString('latin1').replace(/[^\x20-\x7e]/g, '.')}`;
}

const MERGE_GAP = 16;

/** Differing byte ranges (offset, length) of two buffers; past the shorter one's end counts as one range. */
export function differingRanges(a: Buffer, b: Buffer, max = 20): { ranges: [number, number][]; total: number } {
  const ranges: [number, number][] = [];
  let total = 0;
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n) {
    if (a[i] === b[i]) {
      i++;
      continue;
    }
    const s = i;
    // Differences closer than MERGE_GAP bytes are one range (one hex context, not several overlapping ones).
    for (;;) {
      while (i < n && a[i] !== b[i]) i++;
      let j = i;
      while (j < n && j - i < MERGE_GAP && a[j] === b[j]) j++;
      if (j < n && j - i < MERGE_GAP) i = j;
      else break;
    }
    total++;
    if (ranges.length < max) ranges.push([s, i - s]);
  }
  if (a.length !== b.length) {
    total++;
    if (ranges.length < max) ranges.push([n, Math.abs(a.length - b.length)]);
  }
  return { ranges, total };
}

export function compareBinary(a: Buffer, b: Buffer, path: string[], opts: ClassifyOptions, label = 'binary'): Difference {
  const { ranges, total } = differingRanges(a, b);
  const { onlyA, onlyB } = stringsDiff(a, b);
  const causes = onlyA.length || onlyB.length ? classifyText(onlyA, onlyB, opts) : [cause('unknown', `${total} differing byte range(s), no printable strings changed`)];
  const hex = ranges.slice(0, 4).flatMap(([off]) => [`- ${hexLine(a, off)}`, `+ ${hexLine(b, off)}`]);
  return {
    path,
    kind: 'content',
    causes,
    unifiedDiff: [...hex, ...(onlyA.length || onlyB.length ? ['strings:', ...onlyA.slice(0, 20).map((s) => `- ${s}`), ...onlyB.slice(0, 20).map((s) => `+ ${s}`)] : [])].join('\n'),
    details: { type: label, sizes: [a.length, b.length], ranges: ranges.map(([o, l]) => ({ offset: o, length: l })), rangeCount: total },
  };
}

/**
 * Sections that differ only because others do: the build-id hashes the whole file, and
 * `.gnu_debuglink` names the detached debug file (often after the build-id) and holds its CRC.
 */
const CONSEQUENCE_SECTIONS = new Set(['.note.gnu.build-id', '.gnu_debuglink']);

/**
 * A build year compiled into code as a number (`mov $0x7e6, …`): a differing range of at
 * most two bytes whose 16-bit little-endian word reads as a plausible year on both sides.
 */
function yearImmediate(a: Buffer, b: Buffer): { at: number; years: [number, number] } | undefined {
  const maxYear = new Date().getUTCFullYear() + 1;
  const isYear = (y: number) => y >= 1970 && y <= maxYear;
  for (const [off, len] of differingRanges(a, b, 64).ranges) {
    if (len > 2) continue;
    for (const at of [off, off - 1]) {
      if (at < 0 || at + 2 < off + len || at + 2 > a.length || at + 2 > b.length) continue;
      const ya = a.readUInt16LE(at);
      const yb = b.readUInt16LE(at);
      if (ya !== yb && isYear(ya) && isYear(yb)) return { at, years: [ya, yb] };
    }
  }
  return undefined;
}

/** ELF: which sections differ; a differing build-id is a consequence, so the cause comes from the other sections. */
function compareElf(a: Buffer, b: Buffer, path: string[], limits: DiffLimits, opts: ClassifyOptions): Difference {
  const ea = parseElf(a);
  const eb = parseElf(b);
  if (!ea || !eb) return compareBinary(a, b, path, opts);
  const bByName = new Map(eb.sections.map((s) => [s.name, s]));
  const differing = ea.sections.filter((s) => bByName.get(s.name)?.sha256 !== s.sha256).map((s) => s.name);
  for (const s of eb.sections) if (!ea.sections.some((x) => x.name === s.name)) differing.push(s.name);
  const base = compareBinary(a, b, path, opts, 'elf');
  const causes: Cause[] = [];
  for (const name of differing.filter((n) => !CONSEQUENCE_SECTIONS.has(n))) {
    const sa = ea.sections.find((s) => s.name === name);
    const sb = bByName.get(name);
    const ba = sa ? a.subarray(sa.offset, sa.offset + sa.size) : Buffer.alloc(0);
    const bb = sb ? b.subarray(sb.offset, sb.offset + sb.size) : Buffer.alloc(0);
    const { onlyA, onlyB } = stringsDiff(ba, bb);
    if (!onlyA.length && !onlyB.length) {
      const year = yearImmediate(ba, bb);
      if (year && !causes.some((x) => x.cause === 'embedded-timestamp')) {
        causes.push(cause('embedded-timestamp', `${name}+0x${year.at.toString(16)}: the number ${year.years[0]} → ${year.years[1]} (a year compiled into the code)`));
      }
      continue;
    }
    for (const c of classifyText(onlyA, onlyB, opts)) if (!causes.some((x) => x.cause === c.cause)) causes.push({ ...c, evidence: `${name}: ${c.evidence}` });
  }
  if (ea.buildId !== eb.buildId) {
    const onlyConsequences = differing.every((n) => CONSEQUENCE_SECTIONS.has(n));
    const why = causes.map((c) => c.cause).join(', ') || (onlyConsequences ? 'no loaded section: the debug info the build-id also covers differs (a build path or toolchain in DWARF)' : 'the other differing sections');
    causes.push(cause('build-id', `build-id ${ea.buildId ?? '(none)'} → ${eb.buildId ?? '(none)'}; caused by ${why}`));
  }
  if (causes.length === 0) causes.push(...base.causes);
  void limits;
  return { ...base, causes, details: { ...base.details, type: 'elf', sections: differing, buildIds: [ea.buildId ?? null, eb.buildId ?? null] } };
}
