import type { Node } from './blob.ts';
import type { Cause, Difference, DiffLimits, DiffOptions } from './model.ts';
import type { ClassifyOptions } from './classify.ts';

/** The state of one diff, shared by the engine's parts. */
export interface Ctx {
  limits: DiffLimits;
  classify: ClassifyOptions;
  diffs: Difference[];
  omitted: string[];
  truncated: boolean;
  droppedDiffs: number;
  onProgress?: DiffOptions['onProgress'];
  /** The engine's recursive compare of two differing nodes (archives call back into it for their members). */
  descend: (a: Node, b: Node, path: string[], depth: number) => Promise<number>;
}

export function add(ctx: Ctx, d: Difference): void {
  if (ctx.diffs.length >= ctx.limits.maxDifferences) {
    ctx.truncated = true;
    ctx.droppedDiffs++;
    return;
  }
  ctx.diffs.push(d);
}

/** One cause per name; the evidence of repeats is appended. */
export function dedupe(causes: Cause[]): Cause[] {
  const out: Cause[] = [];
  for (const c of causes) {
    const same = out.find((x) => x.cause === c.cause);
    if (same) same.evidence = `${same.evidence}; ${c.evidence}`.slice(0, 300);
    else out.push(c);
  }
  return out;
}
