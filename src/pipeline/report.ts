import { createHash } from 'node:crypto';
import type { Subject } from '../attest/types.ts';
import type { CauseSummary } from '../publish/statements.ts';
import { builtinDiff, type BuiltinDiff } from './member-diff.ts';

/**
 * The mismatch report of one subject, in the three forms a job publishes:
 * report.json (machines), report.txt (terminals), report.html (people).
 * With the upstream file at hand it is the diff engine's report; without it,
 * all that can be said is which digests differ.
 */
export interface RenderedReport {
  json: string;
  text: string;
  html: string;
  /** sha256 of report.json (named in the signed attestations). */
  sha256: string;
}

export interface ReportInput {
  subject: Subject;
  expected: Record<string, string>;
  rebuiltDigests: Record<string, string>;
  rebuiltPath: string;
  upstreamPath: string | undefined;
  signal?: AbortSignal;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function finish(json: unknown, text: string, html: string): RenderedReport {
  const j = `${JSON.stringify(json, null, 2)}\n`;
  return { json: j, text, html, sha256: createHash('sha256').update(j).digest('hex') };
}

/** The report when only digests can be compared (no upstream file to diff against). */
export function digestOnlyReport(input: ReportInput): { report: RenderedReport; causes: CauseSummary[] } {
  const note = 'the upstream artifact was not available, so no file-level diff was made; put it beside the attestation (named after the subject) to get one';
  const lines = [
    `not reproduced: ${input.subject.name}`,
    ...Object.entries(input.expected).map(([alg, hex]) => `  ${alg} claimed  ${hex}\n  ${alg} rebuilt  ${input.rebuiltDigests[alg] ?? '?'}`),
    `  ${note}`,
  ];
  const json = {
    reportVersion: 1,
    subject: input.subject,
    expected: input.expected,
    rebuilt: input.rebuiltDigests,
    upstreamAvailable: false,
    differences: [],
    note,
  };
  const html = `<!doctype html><meta charset="utf-8"><title>reprod: ${escapeHtml(input.subject.name)} not reproduced</title>
<h1>Not reproduced: ${escapeHtml(input.subject.name)}</h1>
<table>${Object.entries(input.expected)
    .map(([alg, hex]) => `<tr><th>${alg} claimed</th><td><code>${hex}</code></td></tr><tr><th>${alg} rebuilt</th><td><code>${escapeHtml(input.rebuiltDigests[alg] ?? '?')}</code></td></tr>`)
    .join('')}</table>
<p>${escapeHtml(note)}</p>\n`;
  return { report: finish(json, `${lines.join('\n')}\n`, html), causes: [{ kind: 'unknown', summary: 'digest differs; upstream artifact not available for a diff' }] };
}

/** src/compare's engine, when installed (looked up by export, so the pipeline works without it). */
interface DiffEngine {
  diffFiles(a: string, b: string, opts?: Record<string, unknown>): Promise<unknown>;
  renderReport(report: unknown, format: 'text' | 'json' | 'html', opts?: { color?: boolean }): string;
}

async function diffEngine(): Promise<DiffEngine | undefined> {
  try {
    const m = (await import('../compare/index.ts' as string)) as Partial<DiffEngine>;
    return typeof m.diffFiles === 'function' && typeof m.renderReport === 'function' ? (m as DiffEngine) : undefined;
  } catch {
    return undefined;
  }
}

/** Cause summaries from the engine's report (`differences[].causes[].cause`, grouped). */
function engineCauses(report: unknown): CauseSummary[] {
  const diffs = (report as { differences?: { path?: string[]; causes?: { cause?: string; evidence?: unknown }[] }[] }).differences ?? [];
  const seen = new Map<string, CauseSummary>();
  for (const d of diffs) {
    for (const c of d.causes ?? []) {
      const kind = c.cause ?? 'unknown';
      if (!seen.has(kind)) seen.set(kind, { kind, where: (d.path ?? []).join(' → '), summary: typeof c.evidence === 'string' ? c.evidence.slice(0, 200) : kind });
    }
  }
  return [...seen.values()];
}

function builtinReport(input: ReportInput, diff: BuiltinDiff): RenderedReport {
  const lines = [
    `not reproduced: ${input.subject.name}`,
    ...Object.entries(input.expected).map(([alg, hex]) => `  ${alg} claimed  ${hex}\n  ${alg} rebuilt  ${input.rebuiltDigests[alg] ?? '?'}`),
    '',
    'differences (upstream vs rebuilt):',
    ...diff.differences.map((d) => `  ${d.kind.padEnd(8)} ${d.path}: ${d.detail}${d.cause ? `  [${d.cause}]` : ''}`),
    ...(diff.truncated ? ['  … more differences left out'] : []),
    '',
    'likely causes:',
    ...diff.causes.map((c) => `  ${c.kind}: ${c.summary}`),
    ...(diff.unifiedDiff ? ['', diff.unifiedDiff] : []),
  ];
  const json = { reportVersion: 1, engine: 'builtin', subject: input.subject, expected: input.expected, rebuilt: input.rebuiltDigests, upstreamAvailable: true, ...diff };
  const html = `<!doctype html><meta charset="utf-8"><title>reprod: ${escapeHtml(input.subject.name)} not reproduced</title>
<h1>Not reproduced: ${escapeHtml(input.subject.name)}</h1>
<h2>Likely causes</h2><ul>${diff.causes.map((c) => `<li><b>${escapeHtml(c.kind)}</b>: ${escapeHtml(c.summary)}</li>`).join('')}</ul>
<h2>Differences</h2><table><tr><th>kind</th><th>path</th><th>detail</th></tr>${diff.differences
    .map((d) => `<tr><td>${d.kind}</td><td><code>${escapeHtml(d.path)}</code></td><td>${escapeHtml(d.detail)}</td></tr>`)
    .join('')}</table>${diff.unifiedDiff ? `<pre>${escapeHtml(diff.unifiedDiff)}</pre>` : ''}\n`;
  return finish(json, `${lines.join('\n')}\n`, html);
}

export async function diffReport(input: ReportInput): Promise<{ report: RenderedReport; causes: CauseSummary[] }> {
  if (input.upstreamPath === undefined) return digestOnlyReport(input);
  const engine = await diffEngine();
  if (engine) {
    const report = await engine.diffFiles(input.upstreamPath, input.rebuiltPath, {});
    const json = engine.renderReport(report, 'json');
    return {
      report: { json, text: engine.renderReport(report, 'text', { color: false }), html: engine.renderReport(report, 'html'), sha256: createHash('sha256').update(json).digest('hex') },
      causes: engineCauses(report),
    };
  }
  const diff = await builtinDiff(input.upstreamPath, input.rebuiltPath);
  return { report: builtinReport(input, diff), causes: diff.causes };
}
