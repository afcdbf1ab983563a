import type { CanaryHit } from './canary.ts';
import type { DiffSummary } from './run.ts';

/**
 * The result of `reprod check`, as JSON (versioned: reprodCheckVersion) and
 * the model the text and HTML renderers read. docs/check.md documents it.
 */
export interface VariationResult {
  name: string;
  /** breaks: in a minimal set that changes the outputs; stable: built identically with it;
   *  skipped: could not run on this host (see reason); untested: the control itself varies. */
  status: 'stable' | 'breaks' | 'skipped' | 'untested';
  control: string;
  experiment: string;
  canaries?: string[];
  reason?: string;
}

export interface OutputDifference {
  name: string;
  controlSha256: string;
  /** Absent when the experiment did not produce this output. */
  experimentSha256?: string;
  /** Where the culprit variations' canaries appear in the experiment's output. */
  canaries: CanaryHit[];
  diff?: DiffSummary;
  diffError?: { code: string; message: string };
}

export interface Finding {
  /** The minimal set of variations that reproduces the difference (empty: the control varies by itself). */
  variations: string[];
  /** Builds made when this set was pinned down (control and all-at-once included). */
  buildsToIsolate: number;
  outputs: OutputDifference[];
  /** Why, and what to do: from the culprit variations (`variation`) and the diff engine's classifier (`diff`). */
  causes: { cause: string; fix: string; from: 'variation' | 'diff'; variation?: string; evidence?: string }[];
  /** Set when the experiment's build failed instead of producing different outputs. */
  buildError?: { code: string; message: string };
}

export interface ExperimentRecord {
  variations: string[];
  differs: boolean;
  outputs?: { name: string; sha256: string }[];
  error?: { code: string; message: string };
}

export interface CheckReport {
  reprodCheckVersion: 1;
  project: {
    source: { dir?: string; git?: string; commit?: string };
    build: string[][];
    outputs: string[];
    image: { ref: string; digest: string };
  };
  /** True when every variation tried left the outputs bit-for-bit equal. */
  reproducible: boolean;
  /** Every build made, the control included. */
  builds: number;
  durationMs: number;
  control: { outputs: { name: string; sha256: string }[] };
  /** Set when repeated control builds already differ: randomness or time the variations don't explain. */
  /** Set when the control differs from itself: at the start (--runs ≥ 2) or in the confirming build at the end. */
  nondeterministic?: { differingOutputs: string[]; detectedAt: 'start' | 'end' };
  variations: VariationResult[];
  findings: Finding[];
  experiments: ExperimentRecord[];
}
