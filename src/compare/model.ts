/**
 * The diff report model (docs/diff-report.md). Plain data: serialisable as is,
 * versioned by `reprodDiffVersion`; fields are only ever added.
 */
export const REPROD_DIFF_VERSION = 1;

/** The fixed cause vocabulary; extend it here (and in classify.ts FIXES). */
export type CauseName =
  | 'embedded-timestamp'
  | 'archive-mtime'
  | 'archive-order'
  | 'file-ownership'
  | 'file-permissions'
  | 'gzip-header'
  | 'build-path'
  | 'timezone'
  | 'locale'
  | 'hostname'
  | 'username'
  | 'randomness'
  | 'map-order'
  | 'build-id'
  /** A checksum line (md5sums, SHA256SUMS, …) of another file that differs: a consequence of that file's difference. */
  | 'checksum'
  /** A build tool or dependency version differs from the upstream build's (Debian: Installed-Build-Depends); named by the pipeline, not from bytes. */
  | 'toolchain-drift'
  | 'unknown';

export interface Cause {
  cause: CauseName;
  /** The matched bytes, lines or header values that name the cause. */
  evidence: string;
  /** The usual fix. */
  fix: string;
}

export type DifferenceKind = 'content' | 'metadata' | 'order' | 'added' | 'removed';

export interface Difference {
  /** Where: outermost first, e.g. ["pkg.tgz", "package.tar", "package/index.js"]. */
  path: string[];
  kind: DifferenceKind;
  causes: Cause[];
  unifiedDiff?: string;
  details?: Record<string, unknown>;
}

export interface DiffReport {
  reprodDiffVersion: number;
  source1: string;
  source2: string;
  identical: boolean;
  differences: Difference[];
  summary: { byCause: Partial<Record<CauseName, number>>; differences: number };
  truncated: boolean;
  /** What was left out when truncated (limits reached, differences omitted). */
  omitted?: string[];
}

/** Context hints a caller may pass so the classifier names a cause exactly. */
export interface DiffHints {
  buildPaths?: string[];
  hostnames?: string[];
  users?: string[];
  canaries?: { variation: string; canary: string }[];
}

export interface DiffLimits {
  /** Nesting depth of archives inside archives before members are compared as opaque bytes. */
  maxDepth: number;
  /** Members per archive. */
  maxMembers: number;
  /** Decompressed bytes per compressed stream. */
  maxDecompressedBytes: number;
  /** Decompressed/compressed ratio allowed once past 1 MiB of output. */
  maxRatio: number;
  /** A differing member larger than this is not buffered: reported by digest and size only. */
  maxMemberBytes: number;
  /** Bodies of differing members held at once per archive; past it they are read again and compared in batches. */
  maxBufferedBytes: number;
  /** Differences recorded before the report is truncated. */
  maxDifferences: number;
  /** Bytes of one unified diff kept in the report. */
  maxUnifiedDiffBytes: number;
}

export const DEFAULT_LIMITS: DiffLimits = {
  maxDepth: 8,
  maxMembers: 500_000,
  maxDecompressedBytes: 8 * 1024 ** 3,
  maxRatio: 1000,
  maxMemberBytes: 64 * 1024 ** 2,
  maxBufferedBytes: 256 * 1024 ** 2,
  maxDifferences: 10_000,
  maxUnifiedDiffBytes: 64 * 1024,
};

export interface DiffOptions {
  hints?: DiffHints;
  /** Alias of hints, as `reprod check` passes it. */
  context?: DiffHints;
  /** Display names of the two sides (default: the paths). */
  labels?: [string, string];
  limits?: Partial<DiffLimits>;
  /** Progress on long work: called every few thousand members scanned (the CLI draws it on stderr). */
  onProgress?: (p: DiffProgress) => void;
}

export interface DiffProgress {
  /** The archive being scanned, outermost first. */
  path: string[];
  /** Members scanned so far in it (both sides). */
  members: number;
}
