import { createHash } from 'node:crypto';
import type { Subject } from '../attest/types.ts';
import type { CauseSummary } from '../publish/statements.ts';

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

export async function diffReport(input: ReportInput): Promise<{ report: RenderedReport; causes: CauseSummary[] }> {
  if (input.upstreamPath === undefined) return digestOnlyReport(input);
  // TODO(diff): wire src/compare's diffFiles/renderReport here once it lands.
  return digestOnlyReport(input);
}
