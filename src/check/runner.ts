import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { DEFAULT_BUILD_PATH, DEFAULT_HOSTNAME } from '../config/defaults.ts';
import type { Limits } from '../config/schema.ts';
import { ReprodError, toReprodError } from '../errors.ts';
import { baseEnv, planLimits, requireRelativePath } from '../plan/common.ts';
import type { BuildPlan } from '../plan/types.ts';
import { prepareAssets } from './assets.ts';
import { executePlan } from '../build/executor.ts';
import { silentLogger, type Logger } from '../log/logger.ts';
import { diffOutputs } from './diff.ts';
import type { CheckReport } from './report-model.ts';
import { runCheck, type BuildOutcome, type CheckProgress } from './run.ts';
import { ASSET_MOUNT, SPECS, type AssetName, type VariationName } from './variations.ts';

/**
 * `reprod check` against a real Docker engine: prepares the host assets,
 * builds the control plan for a source folder and a build command, and runs
 * the check with every build in the hermetic executor (src/build), the
 * assets mounted read-only at ASSET_MOUNT. Scratch goes to a temp
 * folder removed at the end (unless `keep`).
 */
/** A fixed default epoch for folders that are not a git commit (2023-11-14T22:13:20Z). */
export const DEFAULT_CHECK_EPOCH = 1700000000;

export interface ControlInput {
  imageId: string;
  imageRef: string;
  /** Shell command run in the build path. */
  build: string;
  /** Output paths, relative to the build path. */
  outputs: string[];
  sourceDateEpoch: number;
  source: { repo: string; commit: string };
  limits: Limits;
}

/** The control build: the hermetic defaults of every reprod build (DESIGN.md section 5). Pure. */
export function controlPlan(input: ControlInput): BuildPlan {
  if (input.outputs.length === 0) throw new ReprodError('USAGE', 'name at least one --output to compare');
  const outputs = input.outputs.map((p, i) => {
    const path = requireRelativePath(p, `--output #${i + 1}`);
    return { name: path, path };
  });
  return {
    planVersion: 1,
    rebuilder: 'check',
    source: input.source,
    image: { ref: input.imageRef, digest: input.imageId },
    workdir: DEFAULT_BUILD_PATH,
    hostname: DEFAULT_HOSTNAME,
    env: baseEnv(input.sourceDateEpoch),
    fetch: [],
    pinned: [],
    build: [{ name: 'build', run: ['sh', '-c', input.build] }],
    outputs,
    limits: planLimits(input.limits),
  };
}

/** Codes that say the check itself cannot go on, whichever variation is applied. */
const INFRASTRUCTURE: string[] = ['DOCKER_UNAVAILABLE', 'IMAGE_NOT_FOUND', 'PLAN_INVALID', 'BUILD_CANCELLED', 'INTERNAL'];

export interface RealCheckOptions {
  docker: Docker;
  control: BuildPlan;
  sourceDir: string;
  variations: VariationName[];
  runs: number;
  /** Builds at once while bisecting (see CheckOptions.jobs). */
  jobs?: number;
  /** Where host assets are cached (data dir). */
  cacheDir: string;
  source: CheckReport['project']['source'];
  onProgress?: (p: CheckProgress) => void;
  signal?: AbortSignal;
  /** Keep the per-build folders (outputs, logs) and say where. */
  keep?: boolean;
  logger?: Logger;
}

export async function checkWithDocker(opts: RealCheckOptions): Promise<CheckReport & { workDir?: string }> {
  const wanted = opts.variations.map((v) => SPECS[v].needs).filter((a): a is AssetName => a !== undefined);
  const assets = await prepareAssets(opts.cacheDir, wanted);
  const workDir = await mkdtemp(join(tmpdir(), 'reprod-check-'));
  const runId = workDir.slice(-6).toLowerCase();
  let n = 0;
  try {
    const report = await runCheck(
      {
        control: opts.control,
        variations: opts.variations,
        runs: opts.runs,
        ...(opts.jobs ? { jobs: opts.jobs } : {}),
        host: { cpuCount: availableParallelism(), assets: assets.available },
        source: opts.source,
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      },
      {
        build: async (exp): Promise<BuildOutcome> => {
          n += 1;
          const jobDir = join(workDir, String(n).padStart(2, '0'));
          try {
            const result = await executePlan(opts.docker, exp.plan, {
              jobId: `check-${runId}-${n}`,
              sourceDir: opts.sourceDir,
              jobDir,
              fetchNetwork: 'none',
              logger: opts.logger ?? silentLogger,
              ...(exp.assets.length > 0 ? { readOnlyMounts: [{ source: assets.dir, target: ASSET_MOUNT }] } : {}),
              ...(opts.signal ? { signal: opts.signal } : {}),
            });
            return { ok: true, outputs: result.outputs };
          } catch (e) {
            const err = toReprodError(e);
            // Infrastructure failures end the check; a build that fails under a variation is a finding.
            if (INFRASTRUCTURE.includes(err.code) || opts.signal?.aborted) throw err;
            // The executor's message carries the end of the build log.
            return { ok: false, error: { code: err.code, message: err.message } };
          }
        },
        diff: diffOutputs,
      },
    );
    for (const v of report.variations) {
      const why = v.status === 'skipped' ? Object.entries(assets.missing).find(([a]) => v.reason?.includes(`"${a}"`))?.[1] : undefined;
      if (why) v.reason = why;
    }
    return opts.keep ? { ...report, workDir } : report;
  } finally {
    if (!opts.keep) await rm(workDir, { recursive: true, force: true });
  }
}
