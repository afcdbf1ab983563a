/** Delay before retry after the `attempt`-th failure: base·2^(attempt-1), capped. Pure. */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number): number {
  if (attempt < 1) return 0;
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
}
