import { readFile, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { createTwoFilesPatch } from 'diff';
import { extract } from 'tar-stream';
import type { DiffHints, DiffSummary } from './run.ts';

/**
 * The diff of a control output and an experiment output. It is the diff
 * engine's (src/compare) when that module is present; until then, and for
 * anything it cannot load, a small built-in diff: unified text diff for text,
 * first differing offset with hex context for binary. The engine is loaded
 * lazily so `reprod check` also runs in trees without it.
 */
interface CompareModule {
  diffFiles: (a: string, b: string, opts?: Record<string, unknown>) => Promise<unknown>;
  renderReport: (report: unknown, format: 'text' | 'json' | 'html', opts?: Record<string, unknown>) => string;
}

/** Where the engine's entry points may live; the first module exporting each function wins. */
const COMPARE_MODULES = ['../compare/index.ts', '../compare/diff.ts', '../compare/engine.ts', '../compare/render.ts', '../compare/report.ts'];
const FALLBACK_MAX_BYTES = 16 * 1024 * 1024;

let loaded: Promise<CompareModule | undefined> | undefined;

async function loadCompare(): Promise<CompareModule | undefined> {
  loaded ??= (async () => {
    const found: Partial<CompareModule> = {};
    for (const spec of COMPARE_MODULES) {
      const m = (await import(spec).catch(() => ({}))) as Partial<CompareModule>;
      if (!found.diffFiles && typeof m.diffFiles === 'function') found.diffFiles = m.diffFiles;
      if (!found.renderReport && typeof m.renderReport === 'function') found.renderReport = m.renderReport;
    }
    return found.diffFiles && found.renderReport ? (found as CompareModule) : undefined;
  })();
  return loaded;
}

/** The classified causes of a diff engine report, whatever nesting it uses. */
function causesOf(report: unknown): DiffSummary['causes'] {
  const out = new Map<string, DiffSummary['causes'][number]>();
  const differences = (report as { differences?: { causes?: { cause: string; evidence?: unknown; fix?: string }[] }[] }).differences ?? [];
  for (const d of differences) {
    for (const c of d.causes ?? []) {
      if (!out.has(c.cause)) {
        const evidence = typeof c.evidence === 'string' ? c.evidence : c.evidence === undefined ? undefined : JSON.stringify(c.evidence);
        out.set(c.cause, { cause: c.cause, ...(evidence ? { evidence: evidence.slice(0, 300) } : {}), ...(c.fix ? { fix: c.fix } : {}) });
      }
    }
  }
  return [...out.values()];
}

function isText(buf: Buffer): boolean {
  return !buf.subarray(0, 8192).includes(0);
}

function hexContext(buf: Buffer, at: number): string {
  const start = Math.max(0, at - 16);
  const slice = buf.subarray(start, at + 32);
  const ascii = [...slice].map((c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.')).join('');
  return `${start.toString(16).padStart(8, '0')}: ${slice.toString('hex').replace(/(..)/g, '$1 ').trim()}  |${ascii}|`;
}

function isTar(buf: Buffer): boolean {
  return buf.length >= 512 && buf.subarray(257, 262).toString('latin1') === 'ustar';
}

/** One line per member, in archive order: what a tar records besides the bytes, and a digest of the bytes. */
async function tarListing(buf: Buffer): Promise<string> {
  const lines: string[] = [];
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const hash = createHash('sha256');
      stream.on('data', (d: unknown) => {
        hash.update(d as Buffer);
      });
      stream.on('end', () => {
        const mode = (h.mode ?? 0).toString(8).padStart(4, '0');
        lines.push(`${h.type} ${mode} ${h.uid}/${h.gid} ${h.uname ?? ''}/${h.gname ?? ''} ${h.mtime?.toISOString() ?? ''} ${h.size ?? 0} ${hash.digest('hex').slice(0, 16)} ${h.name}`);
        next();
      });
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  Readable.from([buf]).pipe(ex);
  await done;
  return `${lines.join('\n')}\n`;
}

function unpackGzip(buf: Buffer): Buffer {
  if (buf[0] !== 0x1f || buf[1] !== 0x8b) return buf;
  try {
    return gunzipSync(buf, { maxOutputLength: FALLBACK_MAX_BYTES * 4 });
  } catch {
    return buf;
  }
}

/** Runs of 6+ printable bytes, one a line, like strings(1). */
function printableStrings(buf: Buffer): string {
  return `${(buf.toString('latin1').match(/[\x20-\x7e]{6,}/g) ?? []).join('\n')}\n`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The built-in diff, used without the engine. */
export async function fallbackDiff(a: string, b: string): Promise<DiffSummary> {
  const [sa, sb] = await Promise.all([stat(a), stat(b)]);
  if (sa.size > FALLBACK_MAX_BYTES || sb.size > FALLBACK_MAX_BYTES) {
    const text = `sizes ${sa.size} and ${sb.size} bytes; too large for the built-in diff\n`;
    return { report: { identical: false, sizes: [sa.size, sb.size] }, causes: [], text, html: `<pre>${escapeHtml(text)}</pre>` };
  }
  const [ba, bb] = await Promise.all([readFile(a), readFile(b)]);
  let text: string;
  const [ta, tb] = [unpackGzip(ba), unpackGzip(bb)];
  if (isTar(ta) && isTar(tb)) {
    // Member listings (type, mode, owner, mtime, size, content digest, name) show order and metadata changes at a glance.
    text = createTwoFilesPatch('control (tar members)', 'experiment (tar members)', await tarListing(ta), await tarListing(tb), '', '', { context: 3 });
  } else if (isText(ba) && isText(bb)) {
    text = createTwoFilesPatch('control', 'experiment', ba.toString('utf8'), bb.toString('utf8'), '', '', { context: 3 });
  } else {
    let at = 0;
    while (at < ba.length && at < bb.length && ba[at] === bb[at]) at++;
    text = `binary files differ from byte ${at} (sizes ${ba.length} / ${bb.length})\n  control     ${hexContext(ba, at)}\n  experiment  ${hexContext(bb, at)}\n`;
    // The printable strings that differ usually say what leaked (a date, a path) better than hex.
    const strings = createTwoFilesPatch('control (strings)', 'experiment (strings)', printableStrings(ba), printableStrings(bb), '', '', { context: 1 });
    if (strings.includes('\n@@')) text += strings;
  }
  return { report: { identical: false, builtin: true, text }, causes: [], text, html: `<pre>${escapeHtml(text)}</pre>` };
}

export async function diffOutputs(a: string, b: string, hints: DiffHints): Promise<DiffSummary> {
  const engine = await loadCompare();
  if (!engine) return fallbackDiff(a, b);
  // The engine's context hints name canary values exactly (a build path, a hostname …).
  const report = await engine.diffFiles(a, b, { hints, context: hints, labels: ['control', 'experiment'] });
  return {
    report,
    causes: causesOf(report),
    text: engine.renderReport(report, 'text', { color: false }),
    html: engine.renderReport(report, 'html'),
  };
}
