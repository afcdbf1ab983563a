import type { Job, JobState } from '../store/types.ts';

export function ago(iso: string | undefined, now: number): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : s < 172800 ? `${Math.round(s / 3600)}h ago` : `${Math.round(s / 86400)}d ago`;
}

/** The human view (pure): counts, the queue, recent verdicts. */
export function formatStatus(s: { counts: Record<JobState, number>; running: Job[]; queued: Job[]; recent: Job[] }, now = Date.now()): string {
  const out: string[] = [];
  out.push(`jobs: ${s.counts.running} running, ${s.counts.queued} queued, ${s.counts.done} done, ${s.counts.error} error`);
  const table = (title: string, rows: string[][]): void => {
    out.push('', title);
    if (rows.length === 0) {
      out.push('  (none)');
      return;
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) out.push(`  ${r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}`);
  };
  table('running', s.running.map((j) => [j.id, j.subject.name, `attempt ${j.attempt}`, `started ${ago(j.startedAt, now)}`]));
  table('queued', s.queued.map((j) => [j.id, j.subject.name, j.error ? `retry after ${j.error.code}` : 'new', `queued ${ago(j.createdAt, now)}`]));
  table('recent verdicts', s.recent.map((j) => [j.outcome ?? j.state, j.subject.name, j.subject.sha256.slice(0, 16), j.error ? j.error.code : '', ago(j.finishedAt, now)]));
  return `${out.join('\n')}\n`;
}

