/** The diff engine's public entry points (used by `reprod diff`, `reprod rebuild`, `reprod check`). */
export { diffFiles } from './engine.ts';
export { sha256File } from './blob.ts';
export { renderReport } from './render.ts';
export type { DiffReport, Difference, Cause, CauseName, DiffOptions, DiffHints, DiffLimits } from './model.ts';
export { DEFAULT_LIMITS, REPROD_DIFF_VERSION } from './model.ts';
