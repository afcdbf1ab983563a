export interface BuiltOutput {
  name: string;
  /** Host path of the extracted output file. */
  path: string;
  sha256: string;
  size: number;
}

export interface PhaseTiming {
  phase: 'prepare' | 'fetch' | 'build' | 'collect';
  startedAt: string;
  ms: number;
  exitCode?: number;
}

export interface BuildResult {
  imageId: string;
  outputs: BuiltOutput[];
  /** Host path of the combined log of all phases. */
  logPath: string;
  logSha256: string;
  startedAt: string;
  finishedAt: string;
  phases: PhaseTiming[];
}
