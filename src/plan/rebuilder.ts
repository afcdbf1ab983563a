import type { VerifiedClaim } from '../attest/types.ts';
import type { BuildPlan, PlanLimits } from './types.ts';
import type { DebianFacts } from '../../rebuilders/debian/types.ts';

/**
 * The contract every rebuilder (rebuilders/<name>/index.ts) implements. Both
 * functions are pure: whatever needs I/O (the commit time, registry metadata,
 * override files, the builder image id) is gathered first and handed in as
 * `PlanFacts`, so a claim and its facts always give the same plan.
 */
export interface Rebuilder {
  /** Short name written into the plan (`container`, `npm`). */
  readonly name: string;
  /** Provenance buildTypes this rebuilder understands. */
  readonly buildTypes: readonly string[];
  /** Where the source is: read before planning so the inputs stage can fetch it. */
  source(claim: VerifiedClaim): SourceRef;
  /** Path parts of this artifact's override file under rebuilders/<name>/overrides/ (npm: name, version). */
  overrideKey(claim: VerifiedClaim): string[];
  /** The full plan, given the facts gathered about the source and the environment. */
  plan(claim: VerifiedClaim, facts: PlanFacts): BuildPlan;
  /** Notes drawn from the build log once the build ran (e.g. tool versions differing from upstream). */
  notesAfterBuild?(facts: PlanFacts, log: string): string[];
}

export interface SourceRef {
  /** Clone URL without any `git+` prefix or `@ref` suffix. */
  repo: string;
  /** 40-hex commit. */
  commit: string;
  ref?: string;
}

/** npm registry metadata of one package version (packument `versions[v]`). */
export interface NpmVersionFacts {
  npmVersion?: string;
  nodeVersion?: string;
  /** `dist.tarball`: where the published tarball is (on the registry's own origin). */
  tarball?: string;
}

/** A per-artifact deviation, read from rebuilders/<name>/overrides/ (see overrides.ts). */
export interface Override {
  /** Why the deviation exists; required so nobody wonders later. */
  why: string;
  env?: Record<string, string>;
  /** Replaces the build steps' command (argv). */
  command?: string[];
  /** Package folder inside the repository (npm monorepos). */
  directory?: string;
}

export interface PlanFacts {
  limits: PlanLimits;
  /** Committer time of the source commit (seconds); SOURCE_DATE_EPOCH when the claim gives none. */
  commitTime: number;
  /** The default builder image for rebuilders whose claim names none (npm). */
  builderImage?: { ref: string; digest: string };
  /** Tool versions inside the builder image, when known (to note mismatches with upstream). */
  imageTools?: { node?: string; npm?: string };
  npm?: NpmVersionFacts;
  override?: Override;
  /** Debian: the fetched source package, the builder image, the clock. */
  debian?: DebianFacts;
}
