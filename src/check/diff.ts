import { readFile, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { createTwoFilesPatch } from 'diff';
import { extract } from 'tar-stream';
import { diffFiles, renderReport, type DiffReport } from '../compare/index.ts';
import type { DiffHints, DiffSummary } from './run.ts';

/**
 * The diff of a control output and an experiment output: the diff engine's
 * (src/compare), given the check's canaries as context hints. If the engine
 * fails on a pair, a small built-in diff stands in (unified text diff, tar
 * member listing, or strings + hex context for binary) so the finding still
 * shows what changed.
 */
const FALLBACK_MAX_BYTES = 16 * 1024 * 1024;

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
  let report: DiffReport;
  try {
    // The engine's hints name canary values exactly (a build path, a hostname …).
    report = await diffFiles(a, b, { hints, labels: ['control', 'experiment'] });
  } catch (e) {
    const fallback = await fallbackDiff(a, b);
    const why = `the diff engine failed (${(e as { code?: string }).code ?? 'error'}: ${(e as Error).message}); built-in diff:\n`;
    return { ...fallback, text: why + fallback.text };
  }
  return { report, causes: causesOf(report), text: renderReport(report, 'text', { color: false }), html: renderReport(report, 'html') };
}
