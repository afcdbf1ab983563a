import type { CauseName, Difference, DiffReport } from './model.ts';

/** At least this many content differences with the same causes in one archive become one finding. */
export const GROUP_CONTENT_AT = 10;
const EXAMPLES = 10;

/**
 * Groups content differences: the same causes across many members of one
 * archive (5,000 files each embedding the build date) are one finding with a
 * count, examples and the first member's diff, not 5,000 entries. Pure.
 */
export function groupFindings(diffs: Difference[], at = GROUP_CONTENT_AT): Difference[] {
  const groups = new Map<string, Difference[]>();
  const key = (d: Difference) => `${JSON.stringify(d.path.slice(0, -1))}\0${d.causes.map((c) => c.cause).sort().join(',')}`;
  for (const d of diffs) {
    if (d.kind !== 'content' || d.path.length < 2) continue;
    const k = key(d);
    const g = groups.get(k);
    if (g) g.push(d);
    else groups.set(k, [d]);
  }
  const out: Difference[] = [];
  const done = new Set<string>();
  for (const d of diffs) {
    const k = d.kind === 'content' && d.path.length >= 2 ? key(d) : undefined;
    const g = k === undefined ? undefined : groups.get(k);
    if (!g || g.length < at) {
      out.push(d);
      continue;
    }
    if (done.has(k!)) continue;
    done.add(k!);
    const first = g[0]!;
    out.push({
      path: [...first.path.slice(0, -1), `(${g.length} members)`],
      kind: 'content',
      causes: first.causes.map((c) => ({ ...c, evidence: `${g.length} members, e.g. ${first.path[first.path.length - 1]}: ${c.evidence}`.slice(0, 300) })),
      ...(first.unifiedDiff ? { unifiedDiff: first.unifiedDiff } : {}),
      details: { members: g.length, examples: g.slice(0, EXAMPLES).map((x) => x.path[x.path.length - 1]), firstDetails: first.details ?? null },
    });
  }
  return out;
}

/** The report with its content differences grouped and the cause summary recounted. */
export function groupReport(r: DiffReport, at = GROUP_CONTENT_AT): DiffReport {
  const differences = groupFindings(r.differences, at);
  if (differences.length === r.differences.length) return r;
  const byCause: Partial<Record<CauseName, number>> = {};
  for (const d of differences) for (const c of d.causes) byCause[c.cause] = (byCause[c.cause] ?? 0) + 1;
  return { ...r, differences, summary: { ...r.summary, byCause, differences: differences.length + (r.summary.differences - r.differences.length) } };
}
