import type Docker from 'dockerode';
import type { BuildResult } from '../build/types.ts';
import { executePlan } from '../build/executor.ts';
import { ReprodError } from '../errors.ts';
import { hostNpmRegistry } from '../inputs/npm-registry.ts';
import type { Logger } from '../log/logger.ts';
import type { BuildPlan } from '../plan/types.ts';

/**
 * Runs a plan in the hermetic executor. Variables a plan lists in `runtimeEnv`
 * are deployment facts (the npm registry URL from the host's npm config): they
 * are filled in here, for this run only, and never stored in the plan.
 */
export interface BuildDeps {
  docker: Docker;
  jobId: string;
  sourceDir: string;
  jobDir: string;
  fetchNetwork: 'host' | 'bridge' | 'none';
  logger: Logger;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}

const RUNTIME_PROVIDERS: Record<string, () => Promise<string | undefined>> = {
  NPM_CONFIG_REGISTRY: hostNpmRegistry,
};

export async function runtimePlan(plan: BuildPlan): Promise<BuildPlan> {
  if (!plan.runtimeEnv?.length) return plan;
  const env = { ...plan.env };
  for (const name of plan.runtimeEnv) {
    const provide = RUNTIME_PROVIDERS[name];
    if (!provide) throw new ReprodError('PLAN_INVALID', `plan asks for runtime variable ${name}, which reprod does not provide`);
    const value = await provide();
    if (value !== undefined) env[name] = value;
  }
  return { ...plan, env };
}

export async function runBuild(plan: BuildPlan, deps: BuildDeps): Promise<BuildResult> {
  return executePlan(deps.docker, await runtimePlan(plan), {
    jobId: deps.jobId,
    sourceDir: deps.sourceDir,
    jobDir: deps.jobDir,
    fetchNetwork: deps.fetchNetwork,
    logger: deps.logger,
    ...(deps.signal ? { signal: deps.signal } : {}),
    ...(deps.onProgress ? { onProgress: (phase: string, detail?: string) => deps.onProgress!(detail ? `${phase}: ${detail}` : phase) } : {}),
  });
}
