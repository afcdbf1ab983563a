import { createHash } from 'node:crypto';
import type { Subject } from '../attest/types.ts';
import type { CauseSummary } from '../publish/statements.ts';
import { toReprodError } from '../errors.ts';
import { diffFiles, renderReport, type DiffReport } from '../compare/index.ts';
import { cause } from '../compare/classify.ts';
import type { Difference } from '../compare/model.ts';

/**
 * The mismatch report of one subject, in the three forms a job publishes:
 * report.json (machines), report.txt (terminals), report.html (people).
 * With the upstream file at hand it is src/compare's diff report; without it,
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
  /** Build dependencies whose versions differ from the upstream build's (`make 4.3-4.1 (buildinfo: 4.3-4)`). */
  drift?: string[];
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function finish(json: unknown, text: string, html: string): RenderedReport {
  const j = `${JSON.stringify(json, null, 2)}\n`;
  return { json: j, text, html, sha256: createHash('sha256').update(j).digest('hex') };
}

/** The report when only digests can be compared (no upstream file to diff against). */
export function digestOnlyReport(
  input: ReportInput,
  note = 'the upstream artifact was not available, so no file-level diff was made; put it beside the attestation (named after the subject) to get one',
): { report: RenderedReport; causes: CauseSummary[] } {
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
    upstreamAvailable: input.upstreamPath !== undefined,
    differences: [],
    note,
  };
  const html = `<!doctype html><meta charset="utf-8"><title>reprod: ${escapeHtml(input.subject.name)} not reproduced</title>
<h1>Not reproduced: ${escapeHtml(input.subject.name)}</h1>
<table>${Object.entries(input.expected)
    .map(([alg, hex]) => `<tr><th>${alg} claimed</th><td><code>${hex}</code></td></tr><tr><th>${alg} rebuilt</th><td><code>${escapeHtml(input.rebuiltDigests[alg] ?? '?')}</code></td></tr>`)
    .join('')}</table>
<p>${escapeHtml(note)}</p>\n`;
  return { report: finish(json, `${lines.join('\n')}\n`, html), causes: [...driftCauses(input), { kind: 'unknown', summary: `digest differs; ${note}` }] };
}

/** Cause summaries for the VSA from the diff engine's report: one per cause, where it was first seen. */
function engineCauses(report: DiffReport): CauseSummary[] {
  const diffs = report.differences;
  const seen = new Map<string, CauseSummary>();
  for (const d of diffs) {
    for (const c of d.causes ?? []) {
      const kind = c.cause ?? 'unknown';
      if (seen.has(kind)) continue;
      const evidence = typeof c.evidence === 'string' ? c.evidence.slice(0, 200) : kind;
      seen.set(kind, { kind, where: (d.path ?? []).join(' → '), summary: typeof c.fix === 'string' && c.fix ? `${evidence}; usual fix: ${c.fix}` : evidence });
    }
  }
  return [...seen.values()];
}

function driftCauses(input: ReportInput): CauseSummary[] {
  if (!input.drift?.length) return [];
  const c = cause('toolchain-drift', input.drift.join('; '));
  return [{ kind: c.cause, where: input.subject.name, summary: `${c.evidence}; usual fix: ${c.fix}` }];
}

/** Toolchain drift is a fact of the build, not of the bytes: one finding at the top of the report. */
function withDrift(report: DiffReport, input: ReportInput): DiffReport {
  if (!input.drift?.length) return report;
  const finding: Difference = { path: [input.subject.name], kind: 'content', causes: [cause('toolchain-drift', `build dependencies differ from the upstream build: ${input.drift.join('; ')}`)] };
  const byCause = { ...report.summary.byCause, 'toolchain-drift': 1 };
  return { ...report, differences: [finding, ...report.differences], summary: { ...report.summary, byCause, differences: report.summary.differences + 1 } };
}

export async function diffReport(input: ReportInput): Promise<{ report: RenderedReport; causes: CauseSummary[] }> {
  if (input.upstreamPath === undefined) return digestOnlyReport(input);
  let report: DiffReport;
  try {
    report = withDrift(await diffFiles(input.upstreamPath, input.rebuiltPath, { labels: [`upstream ${input.subject.name}`, `rebuilt ${input.subject.name}`] }), input);
  } catch (e) {
    // The bytes differ whatever the diff engine says: a failed diff never turns the verdict into an error.
    const err = toReprodError(e, 'DIFF_FAILED');
    return digestOnlyReport(input, `the diff engine could not compare the files (error[${err.code}]: ${err.message})`);
  }
  const json = renderReport(report, 'json');
  return {
    report: { json, text: renderReport(report, 'text', { color: false }), html: renderReport(report, 'html'), sha256: createHash('sha256').update(json).digest('hex') },
    causes: engineCauses(report),
  };
}
