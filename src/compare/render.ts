import type { CauseName, DiffReport, Difference } from './model.ts';
import { FIXES } from './classify.ts';
import { groupReport } from './group.ts';

/** Default cap of a rendered report (`--max-report-bytes`). */
export const DEFAULT_MAX_REPORT_BYTES = 1024 * 1024;
/** Unified diffs are cut to this when the whole report does not fit. */
const SHORT_DIFF_BYTES = 2048;

export type ReportFormat = 'text' | 'json' | 'html';

export interface RenderOptions {
  /** ANSI colour (text only); the CLI sets it when stdout is a TTY. */
  color?: boolean;
  /** Cap on the rendered output; differences past it are left out and the report says so. */
  maxBytes?: number;
}

/**
 * Renders a report, capped: first unified diffs are shortened, then trailing
 * differences are left out (binary search on the count), and the report names
 * what was left out. Never returns more than maxBytes (a last-resort hard cut).
 */
export function renderReport(input: DiffReport, format: ReportFormat, opts: RenderOptions = {}): string {
  // Many members with the same causes are rendered as one finding (the engine's report keeps them all).
  const report = groupReport(input);
  const max = opts.maxBytes ?? DEFAULT_MAX_REPORT_BYTES;
  const render = (r: DiffReport) => (format === 'json' ? renderJson(r) : format === 'html' ? renderHtml(r) : renderText(r, opts.color === true));
  const full = render(report);
  if (Buffer.byteLength(full) <= max) return full;
  const short: Difference[] = report.differences.map((d) => (d.unifiedDiff && d.unifiedDiff.length > SHORT_DIFF_BYTES ? { ...d, unifiedDiff: `${d.unifiedDiff.slice(0, SHORT_DIFF_BYTES)}\n… cut to fit --max-report-bytes\n` } : d));
  const withFirst = (k: number): DiffReport => {
    const left = short.length - k;
    const omitted = [...(report.omitted ?? []), `unified diffs shortened to ${SHORT_DIFF_BYTES} bytes to fit ${max} bytes`];
    if (left > 0) omitted.push(`${left} of ${short.length} differences left out to fit ${max} bytes (raise --max-report-bytes, or use --format json for all)`);
    return { ...report, differences: short.slice(0, k), truncated: true, omitted };
  };
  let lo = 0;
  let hi = short.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (Buffer.byteLength(render(withFirst(mid))) <= max) lo = mid;
    else hi = mid - 1;
  }
  const out = render(withFirst(lo));
  if (Buffer.byteLength(out) <= max) return out;
  const note = '\n… report cut at --max-report-bytes\n';
  return Buffer.from(out).subarray(0, Math.max(0, max - note.length)).toString('utf8').replace(/\uFFFD$/, '') + note;
}

export function renderJson(r: DiffReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

const ANSI = { red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', cyan: '\x1b[36m', bold: '\x1b[1m', dim: '\x1b[2m', off: '\x1b[0m' };

/** Control characters in hostile member names never reach the terminal raw. */
function safe(s: string): string {
  return s.replace(/[\x00-\x08\x0b-\x1f\x7f\x9b]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function pathLabel(path: string[]): string {
  return path.map(safe).join(' › ');
}

function causeCounts(r: DiffReport): [CauseName, number][] {
  return (Object.entries(r.summary.byCause) as [CauseName, number][]).sort((a, b) => b[1] - a[1]);
}

export function renderText(r: DiffReport, color: boolean): string {
  const c = (k: keyof typeof ANSI, s: string) => (color ? `${ANSI[k]}${s}${ANSI.off}` : s);
  const out: string[] = [];
  out.push(c('bold', `--- ${safe(r.source1)}`), c('bold', `+++ ${safe(r.source2)}`));
  if (r.identical) {
    out.push('identical');
    return `${out.join('\n')}\n`;
  }
  out.push(`${r.summary.differences} difference(s)`, '', c('bold', 'Likely causes:'));
  for (const [name, n] of causeCounts(r)) out.push(`  ${c('yellow', name)} (${n})  fix: ${FIXES[name] ?? ''}`);
  out.push('', c('bold', 'Differences:'));
  for (const d of r.differences) {
    out.push(`${c('cyan', `▸ ${pathLabel(d.path)}`)}  [${d.kind}]  ${d.causes.map((x) => c('yellow', x.cause)).join(', ')}`);
    for (const x of d.causes) out.push(`    ${x.cause}: ${safe(x.evidence)}`);
    if (d.details) {
      const det = JSON.stringify(d.details);
      out.push(c('dim', `    details: ${safe(det.length > 600 ? `${det.slice(0, 600)}…` : det)}`));
    }
    if (d.unifiedDiff) {
      for (const l of d.unifiedDiff.replace(/\n$/, '').split('\n')) {
        const line = `      ${safe(l)}`;
        out.push(l.startsWith('+') && !l.startsWith('+++') ? c('green', line) : l.startsWith('-') && !l.startsWith('---') ? c('red', line) : line);
      }
    }
  }
  if (r.truncated) out.push('', c('bold', 'Report truncated:'), ...(r.omitted ?? ['some differences were left out']).map((o) => `  - ${safe(o)}`));
  return `${out.join('\n')}\n`;
}

/** HTML-escapes, and shows control characters (hostile names, binary text) as `\xNN` so none reaches a terminal raw. */
function esc(s: string): string {
  return s
    .replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

interface TreeNode {
  children: Map<string, TreeNode>;
  diffs: Difference[];
}

function tree(diffs: Difference[]): TreeNode {
  const root: TreeNode = { children: new Map(), diffs: [] };
  for (const d of diffs) {
    let n = root;
    for (const seg of d.path.slice(0, -1)) {
      let next = n.children.get(seg);
      if (!next) n.children.set(seg, (next = { children: new Map(), diffs: [] }));
      n = next;
    }
    n.diffs.push(d);
  }
  return root;
}

function diffHtml(d: Difference): string {
  const lines = (d.unifiedDiff ?? '')
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => `<span class="${l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : l.startsWith('@@') ? 'hunk' : ''}">${esc(l)}</span>`)
    .join('\n');
  return `<details class="diff" open><summary><code>${esc(d.path[d.path.length - 1] ?? '')}</code> <span class="kind">${d.kind}</span> ${d.causes
    .map((c) => `<span class="cause">${esc(c.cause)}</span>`)
    .join(' ')}</summary>
<ul class="causes">${d.causes.map((c) => `<li><b>${esc(c.cause)}</b>: <code>${esc(c.evidence)}</code><br><i>fix:</i> ${esc(c.fix)}</li>`).join('')}</ul>
${d.details ? `<pre class="details">${esc(JSON.stringify(d.details, null, 1).slice(0, 4000))}</pre>` : ''}${d.unifiedDiff ? `<pre class="udiff">${lines}</pre>` : ''}</details>`;
}

function treeHtml(n: TreeNode): string {
  const kids = [...n.children.entries()]
    .map(([name, k]) => `<details open><summary><code>${esc(name)}</code></summary><div class="kids">${treeHtml(k)}</div></details>`)
    .join('\n');
  return `${kids}${n.diffs.map(diffHtml).join('\n')}`;
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}code,pre{font:12px/1.35 ui-monospace,monospace}
pre{background:#f6f8fa;padding:.6em;overflow:auto;max-height:30em}.add{color:#116329;background:#dafbe1}.del{color:#82071e;background:#ffebe9}
.hunk{color:#0550ae}.cause{background:#fff8c5;border:1px solid #d4a72c;border-radius:3px;padding:0 4px;font-size:12px}
.kind{color:#666;font-size:12px}.kids{margin-left:1.2em;border-left:1px dotted #aaa;padding-left:.6em}table{border-collapse:collapse}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}.trunc{background:#ffebe9;padding:.5em}`;

export function renderHtml(r: DiffReport): string {
  const title = `reprod diff: ${r.source1} vs ${r.source2}`;
  const summary = causeCounts(r)
    .map(([name, n]) => `<tr><td><span class="cause">${esc(name)}</span></td><td>${n}</td><td>${esc(FIXES[name] ?? '')}</td></tr>`)
    .join('');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${esc(title)}</title><style>${CSS}</style></head><body>
<h1>${esc(title)}</h1>
<p>${r.identical ? 'The two sides are <b>identical</b>.' : `<b>${r.summary.differences}</b> difference(s).`} Report format v${r.reprodDiffVersion}.</p>
${r.truncated ? `<div class="trunc"><b>Truncated:</b><ul>${(r.omitted ?? []).map((o) => `<li>${esc(o)}</li>`).join('')}</ul></div>` : ''}
${summary ? `<h2>Likely causes</h2><table><tr><th>cause</th><th>differences</th><th>usual fix</th></tr>${summary}</table>` : ''}
${r.differences.length ? `<h2>Differences</h2>${treeHtml(tree(r.differences))}` : ''}
</body></html>
`;
}
