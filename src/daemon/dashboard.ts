/**
 * The dashboard page at `/`: pure rendering of plain data into one HTML page with
 * inline CSS and an inline SVG chart (no scripts, no external assets), so it
 * works offline and under a strict CSP.
 */
import type { Job, JobState } from '../store/types.ts';
import { escapeHtml as h } from './http-util.ts';

export interface ArtifactRow {
  sha256: string;
  name: string;
  latest: Job;
  /** Newest first. */
  history: Job[];
}

export interface DashboardData {
  artifacts: ArtifactRow[];
  running: { job: Job; attempt: number; startedAt: string; progress?: string }[];
  queued: Job[];
  counts: Record<JobState, number>;
  generatedAt: string;
}

/** Newest job per subject, with its history (pure). `jobs` may be in any order. */
export function groupArtifacts(jobs: Job[]): ArtifactRow[] {
  const by = new Map<string, Job[]>();
  for (const j of jobs) by.set(j.subject.sha256, [...(by.get(j.subject.sha256) ?? []), j]);
  const when = (j: Job): string => j.finishedAt ?? j.updatedAt;
  return [...by.entries()]
    .map(([sha256, list]) => {
      const history = [...list].sort((a, b) => when(b).localeCompare(when(a)));
      return { sha256, name: history[0]!.subject.name, latest: history[0]!, history };
    })
    .sort((a, b) => when(b.latest).localeCompare(when(a.latest)));
}

/** The error code of a failed job: from the queue (state error) or from its `error` verdict. */
export function errorCodeOf(j: Job): string | undefined {
  return j.error?.code ?? (j.result as { error?: { code?: string } } | undefined)?.error?.code;
}

/** Shown outcome: the verdict when there is one, else the queue state. */
export function statusOf(j: Job): string {
  return j.outcome ?? j.state;
}

export interface RatePoint {
  /** Bucket start (ms since epoch). */
  t: number;
  rate: number;
  n: number;
}

/** Reproducibility rate per time bucket (hour or day, whichever gives a readable series). Pure. */
export function rateSeries(jobs: Job[]): RatePoint[] {
  const verdicts = jobs.filter((j) => j.finishedAt && (j.outcome === 'reproduced' || j.outcome === 'not-reproduced'));
  if (verdicts.length === 0) return [];
  const times = verdicts.map((j) => Date.parse(j.finishedAt!));
  const span = Math.max(...times) - Math.min(...times);
  const bucket = span > 3 * 86_400_000 ? 86_400_000 : span > 3 * 3_600_000 ? 3_600_000 : 60_000;
  const acc = new Map<number, { ok: number; n: number }>();
  verdicts.forEach((j, i) => {
    const t = Math.floor(times[i]! / bucket) * bucket;
    const a = acc.get(t) ?? { ok: 0, n: 0 };
    a.n++;
    if (j.outcome === 'reproduced') a.ok++;
    acc.set(t, a);
  });
  return [...acc.entries()].sort((a, b) => a[0] - b[0]).map(([t, a]) => ({ t, rate: a.ok / a.n, n: a.n }));
}

export function rateChart(points: RatePoint[]): string {
  const W = 640;
  const H = 160;
  const pad = 32;
  if (points.length === 0) return '<p class="muted">No verdicts yet.</p>';
  const t0 = points[0]!.t;
  const t1 = points[points.length - 1]!.t;
  const x = (t: number): number => (t1 === t0 ? W / 2 : pad + ((t - t0) / (t1 - t0)) * (W - 2 * pad));
  const y = (r: number): number => H - pad / 2 - r * (H - pad);
  const path = points.map((p) => `${x(p.t).toFixed(1)},${y(p.rate).toFixed(1)}`).join(' ');
  const dots = points
    .map((p) => `<circle cx="${x(p.t).toFixed(1)}" cy="${y(p.rate).toFixed(1)}" r="3.5"><title>${h(new Date(p.t).toISOString())}: ${Math.round(p.rate * 100)}% of ${p.n}</title></circle>`)
    .join('');
  const grid = [0, 0.5, 1]
    .map((r) => `<line x1="${pad}" x2="${W - pad}" y1="${y(r)}" y2="${y(r)}" class="grid"/><text x="4" y="${y(r) + 4}">${r * 100}%</text>`)
    .join('');
  const last = points[points.length - 1]!;
  const total = points.reduce((n, p) => n + p.n, 0);
  const caption = `<p class="muted">Latest period: ${Math.round(last.rate * 100)}% reproduced of ${last.n} verdict(s); ${total} verdict(s) charted. Errors are not counted as either.</p>`;
  return `<svg role="img" aria-label="reproducibility rate over time" viewBox="0 0 ${W} ${H}" class="chart">${grid}<polyline points="${path}"/>${dots}<text x="${pad}" y="${H - 2}">${h(new Date(t0).toISOString().slice(0, 16).replace('T', ' '))}</text><text x="${W - pad}" y="${H - 2}" text-anchor="end">${h(new Date(t1).toISOString().slice(0, 16).replace('T', ' '))}</text></svg>${caption}`;
}

function badge(status: string): string {
  return `<span class="badge ${h(status)}">${h(status)}</span>`;
}

function reportLinks(j: Job): string {
  const reports = ((j.result as { reports?: string[] } | undefined)?.reports ?? []) as string[];
  const links: string[] = [];
  if (reports.includes('report.html')) links.push(`<a class="report" href="/v1/reports/${encodeURIComponent(j.id)}.html">diff report</a>`);
  if (reports.includes('report.json')) links.push(`<a href="/v1/reports/${encodeURIComponent(j.id)}.json">json</a>`);
  return links.join(' · ');
}

function short(s: string): string {
  return s.length > 16 ? `${s.slice(0, 12)}…` : s;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:14px 24px;display:flex;gap:24px;align-items:baseline;flex-wrap:wrap}
header h1{font-size:18px;margin:0}header .count{opacity:.85}
main{padding:16px 24px;max-width:1200px}
section{background:#fff;border:1px solid #e1e4ea;border-radius:8px;padding:12px 16px;margin-bottom:16px}
h2{font-size:15px;margin:0 0 8px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eef0f3;vertical-align:top}
th{font-weight:600;color:#5a6272;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;background:#e8eaee}
.badge.reproduced{background:#d7f5de;color:#14632b}.badge.not-reproduced{background:#fde0de;color:#9b1c14}
.badge.error{background:#fff0cc;color:#7a5200}.badge.running{background:#dde8ff;color:#1f4aa8}.badge.queued{background:#eceff3;color:#4b5363}
.muted{color:#7a8293}details summary{cursor:pointer;color:#41629e}
.chart{width:100%;max-width:640px;height:auto}.chart polyline{fill:none;stroke:#2b6de0;stroke-width:2}
.chart circle{fill:#2b6de0}.chart .grid{stroke:#e1e4ea}.chart text{font-size:10px;fill:#7a8293}
a{color:#2b5fc4}`;

export function renderDashboard(d: DashboardData): string {
  const total = d.artifacts.length;
  const reproduced = d.artifacts.filter((a) => a.latest.outcome === 'reproduced').length;
  const artifacts = d.artifacts
    .map((a) => {
      const history = a.history
        .map((j) => `<li>${badge(statusOf(j))} <code>${h(j.finishedAt ?? j.updatedAt)}</code> job <code>${h(short(j.id))}</code> attempt ${j.attempt}${errorCodeOf(j) ? ` <code>${h(errorCodeOf(j)!)}</code>` : ''} ${reportLinks(j)}</li>`)
        .join('');
      return `<tr class="artifact" data-sha256="${h(a.sha256)}"><td>${h(a.name || '(unnamed)')}<br><code title="${h(a.sha256)}">${h(short(a.sha256))}</code></td><td>${badge(statusOf(a.latest))}${errorCodeOf(a.latest) ? `<br><code>${h(errorCodeOf(a.latest)!)}</code>` : ''}</td><td>${h(a.latest.finishedAt ?? a.latest.updatedAt)}</td><td>${reportLinks(a.latest) || '<span class="muted">—</span>'}</td><td><details><summary>${a.history.length} run(s)</summary><ul>${history}</ul></details></td></tr>`;
    })
    .join('');
  const running = d.running
    .map((r) => `<tr><td>${h(r.job.subject.name)} ${badge('running')}${r.progress ? `<br><span class="muted">${h(r.progress)}</span>` : ''}</td><td><code>${h(short(r.job.id))}</code></td><td>${r.attempt}</td><td>${h(r.startedAt)}</td></tr>`)
    .join('');
  const queued = d.queued.map((j) => `<tr><td>${h(j.subject.name)} ${badge('queued')}</td><td><code>${h(short(j.id))}</code></td><td>${j.attempt}</td><td>${h(j.createdAt)}</td></tr>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>reprod — rebuild verdicts</title><style>${CSS}</style></head>
<body><header><h1>reprod</h1>
<span class="count">${reproduced}/${total} artifacts reproduced</span>
<span class="count">${d.counts.running} running · ${d.counts.queued} queued · ${d.counts.done} done · ${d.counts.error} error</span>
<span class="count muted">as of ${h(d.generatedAt)}</span></header>
<main>
<section><h2>Reproducibility rate over time</h2>${rateChart(rateSeries(d.artifacts.flatMap((a) => a.history)))}</section>
<section><h2>Queue</h2>
${running || queued ? `<table><thead><tr><th>Artifact</th><th>Job</th><th>Attempt</th><th>Since</th></tr></thead><tbody>${running}${queued}</tbody></table>` : '<p class="muted">Nothing running or queued.</p>'}
</section>
<section><h2>Artifacts</h2>
${total ? `<table id="artifacts"><thead><tr><th>Artifact</th><th>Latest verdict</th><th>When</th><th>Report</th><th>History</th></tr></thead><tbody>${artifacts}</tbody></table>` : '<p class="muted">No jobs yet: drop attestations into a feed folder or POST them to /v1/attestations.</p>'}
</section>
</main></body></html>
`;
}
