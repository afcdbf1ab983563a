import type { PinnedPackage } from '../../src/inputs/debian/claim.ts';

/**
 * The clock of the build phase: `real` (the machine's), `source-date-epoch`
 * (starts at SOURCE_DATE_EPOCH) or `build-date` (starts at the buildinfo's
 * Build-Date); the last two run dpkg-buildpackage under libfaketime.
 */
export type Clock = 'real' | 'source-date-epoch' | 'build-date';
export const CLOCKS: readonly Clock[] = ['real', 'source-date-epoch', 'build-date'];

/** What the source stage and the image stage found, handed to the pure planner. */
export interface DebianFacts {
  /** The builder image holding the build dependencies (by id). */
  image: { ref: string; digest: string };
  /** The .dsc file name (in the build folder's parent). */
  dsc: string;
  dscSha256: string;
  /** Every file of the source package, the .dsc included, with its verified sha256. */
  files: Array<{ name: string; sha256: string }>;
  /** The date of the newest debian/changelog entry (seconds). */
  changelogEpoch: number;
  clock: Clock;
  /** The versions the buildinfo pins (to name drift after the build). */
  installedBuildDepends?: PinnedPackage[];
  /** How the image's package set was chosen (pinned, current suite, drift allowed …). */
  notes?: string[];
}
