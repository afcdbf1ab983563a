import type { CheckReport, Finding } from './report-model.ts';

/**
 * Renders a check report for terminals (text), machines (JSON) and people
 * (one self-contained HTML page). The diff part of each finding is the diff
 * engine's own rendering, embedded as it is.
 */
export type CheckFormat = 'text' | 'json' | 'html';

const MARK: Record<string, string> = { stable: 'stable ', breaks: 'BREAKS ', skipped: 'skipped', untested: 'untested' };

/** JSON keeps the diff engine's report object and causes; its text/HTML renderings would only repeat them. */
export function toJson(report: CheckReport): string {
  const findings = report.findings.map((f) => ({
    ...f,
    outputs: f.outputs.map(({ diff, ...o }) => ({ ...o, ...(diff ? { diff: { causes: diff.causes, report: diff.report } } : {}) })),
  }));
  return `${JSON.stringify({ ...report, findings }, null, 2)}\n`;
}

function findingTitle(f: Finding): string {
  return f.variations.length === 0 ? 'the control build differs from itself (no variation needed)' : `breaks under: ${f.variations.join(' + ')}`;
}

function indent(text: string, by = '    '): string {
  return text.replace(/\n$/, '').split('\n').map((l) => by + l).join('\n');
}

export function toText(report: CheckReport): string {
  const out: string[] = [];
  const width = Math.max(...report.variations.map((v) => v.name.length), 8);
  out.push(`reprod check: ${report.builds} builds in ${(report.durationMs / 1000).toFixed(1)}s`, '');
  out.push(`${'VARIATION'.padEnd(width)}  RESULT   EXPERIMENT`);
  for (const v of report.variations) {
    out.push(`${v.name.padEnd(width)}  ${MARK[v.status]}  ${v.status === 'skipped' ? (v.reason ?? '') : v.experiment}`);
  }
  for (const f of report.findings) {
    out.push('', `== ${findingTitle(f)} (isolated after ${f.buildsToIsolate} builds)`);
    for (const c of f.causes) out.push(`   cause ${c.cause} (${c.from === 'variation' ? `varying ${c.variation}` : 'diff classifier'})${c.evidence ? `: ${c.evidence}` : ''}\n     fix: ${c.fix}`);
    if (f.buildError) out.push(`   the build failed instead: error[${f.buildError.code}] ${f.buildError.message.split('\n')[0]}`);
    for (const o of f.outputs) {
      out.push(`-- output ${o.name}`, `   control     sha256:${o.controlSha256}`, `   experiment  ${o.experimentSha256 ? `sha256:${o.experimentSha256}` : '(missing)'}`);
      for (const h of o.canaries) out.push(`   canary ${JSON.stringify(h.canary)} (${h.variation}) at ${h.layer === 'gzip' ? 'decompressed ' : ''}byte ${h.offset}: ${h.context}`);
      if (o.diff) {
        out.push(indent(o.diff.text));
      } else if (o.diffError) out.push(`   (no diff: error[${o.diffError.code}] ${o.diffError.message})`);
    }
  }
  out.push('');
  if (report.nondeterministic) out.push('NOT REPRODUCIBLE: repeated control builds differ; no environment variation is needed (randomness, or the time of the build — e.g. the date changed during the check).');
  else if (report.reproducible) out.push(`REPRODUCIBLE under every variation tried (${report.variations.filter((v) => v.status === 'stable').length}).`);
  else out.push(`NOT REPRODUCIBLE: ${report.findings.map((f) => f.variations.join(' + ')).join('; ')}`);
  return `${out.join('\n')}\n`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function toHtml(report: CheckReport): string {
  const verdict = report.nondeterministic
    ? 'Not reproducible: the control differs from itself'
    : report.reproducible
      ? 'Reproducible under every variation tried'
      : `Not reproducible: ${report.findings.map((f) => f.variations.join(' + ')).join('; ')}`;
  const rows = report.variations
    .map((v) => `<tr class="${v.status}"><td>${esc(v.name)}</td><td>${v.status}</td><td>${esc(v.control)}</td><td>${esc(v.status === 'skipped' ? (v.reason ?? '') : v.experiment)}</td></tr>`)
    .join('\n');
  const findings = report.findings
    .map((f) => {
      const outputs = f.outputs
        .map((o) => {
          const canaries = o.canaries.map((h) => `<li><code>${esc(h.canary)}</code> (${esc(h.variation)}) at ${h.layer === 'gzip' ? 'decompressed ' : ''}byte ${h.offset}: <code>${esc(h.context)}</code></li>`).join('');
          const diff = o.diff ? `<details open><summary>diff</summary><iframe srcdoc="${esc(o.diff.html)}"></iframe></details>` : o.diffError ? `<p>no diff: ${esc(o.diffError.code)}</p>` : '';
          return `<h3>${esc(o.name)}</h3><p><code>${o.controlSha256}</code> (control)<br><code>${o.experimentSha256 ?? '(missing)'}</code> (experiment)</p>${canaries ? `<ul class="canaries">${canaries}</ul>` : ''}${diff}`;
        })
        .join('\n');
      const causes = f.causes.map((c) => `<li><b>${esc(c.cause)}</b> (${c.from === 'variation' ? `varying ${esc(c.variation ?? '')}` : 'diff classifier'})${c.evidence ? `: <code>${esc(c.evidence)}</code>` : ''}<br>fix: ${esc(c.fix)}</li>`).join('');
      const err = f.buildError ? `<p>The build failed instead: ${esc(f.buildError.code)} ${esc(f.buildError.message)}</p>` : '';
      return `<section><h2>${esc(findingTitle(f))}</h2><p>isolated after ${f.buildsToIsolate} builds</p>${causes ? `<ul>${causes}</ul>` : ''}${err}${outputs}</section>`;
    })
    .join('\n');
  return `<!doctype html><html lang="en"><meta charset="utf-8"><title>reprod check: ${esc(verdict)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
tr.breaks{background:#fdd}tr.stable{background:#dfd}tr.skipped,tr.untested{color:#777}iframe{width:100%;height:30rem;border:1px solid #ccc}code{word-break:break-all}</style>
<h1>${esc(verdict)}</h1>
<p>${report.builds} builds in ${(report.durationMs / 1000).toFixed(1)} s.</p>
<table><tr><th>variation</th><th>result</th><th>control</th><th>experiment</th></tr>
${rows}
</table>
${findings}
</html>
`;
}

export function renderCheck(report: CheckReport, format: CheckFormat): string {
  switch (format) {
    case 'json':
      return toJson(report);
    case 'text':
      return toText(report);
    case 'html':
      return toHtml(report);
  }
}
