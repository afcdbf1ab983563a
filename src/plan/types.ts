/**
 * A BuildPlan is the whole, serialisable recipe of one rebuild: it is logged,
 * stored, compared against golden files and embedded in the rebuild provenance
 * so anyone can run it again. Planning produces it without any I/O.
 */

export interface BuildStep {
  /** Short name shown in progress and logs. */
  name: string;
  /** argv, run in `workdir` inside the container (no shell unless the argv says `sh -c`). */
  run: string[];
}

/** A file the fetch phase must produce, pinned by digest before the build may use it. */
export interface PinnedInput {
  /** Path relative to `workdir`. */
  path: string;
  sha256: string;
}

export interface PlanLimits {
  timeoutSeconds: number;
  fetchTimeoutSeconds: number;
  memoryBytes: number;
  pids: number;
  cpus: number;
  logBytes: number;
  outputBytes: number;
  /** Disk the build may write (build path + container file system); no cap when absent (older plans). */
  scratchBytes?: number;
}

export interface PlanOutput {
  /** The subject name the output is compared against. */
  name: string;
  /** Path relative to `workdir` (or absolute inside the container). */
  path: string;
  /** Expected sha256 (the upstream subject digest), when known. */
  sha256?: string;
  /** Every expected digest (algorithm -> hex), e.g. npm subjects carry only sha512. */
  digest?: Record<string, string>;
}

export interface BuildPlan {
  planVersion: 1;
  /** Which rebuilder made the plan (`container`, `npm`, …). */
  rebuilder: string;
  source: { repo: string; commit: string; ref?: string };
  /** The builder image, by digest: `digest` is the image id `sha256:<64 hex>`. */
  image: { ref: string; digest: string };
  /** Fixed build path inside the container; the source is copied here. */
  workdir: string;
  /** `uid:gid` to build as; root (with no capabilities) when absent. */
  user?: string;
  hostname: string;
  /** NIS domain name (`domainname`, the UTS domain); the engine's default (none) when absent. */
  domainname?: string;
  /** Environment of every step; always holds SOURCE_DATE_EPOCH, TZ, LC_ALL. */
  env: Record<string, string>;
  /** Steps that may use the network; they only produce pinned inputs. */
  fetch: BuildStep[];
  pinned: PinnedInput[];
  /** Steps run with the network off. */
  build: BuildStep[];
  outputs: PlanOutput[];
  limits: PlanLimits;
  /**
   * Names of variables the runner fills from the host at run time for the fetch
   * phase (e.g. the npm registry URL, read from the machine's npm config): they
   * are deployment facts, so they are never part of the stored plan.
   */
  runtimeEnv?: string[];
  /** The clock of the build phase when it is not the machine's (Debian: libfaketime); recorded in the provenance. */
  clock?: 'real' | 'source-date-epoch' | 'build-date';
  /** Facts a reader of the verdict should know (tool versions differing from upstream …). */
  notes?: string[];
}
