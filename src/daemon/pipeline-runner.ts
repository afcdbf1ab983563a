/**
 * The default JobRunner: the rebuild pipeline (verify → fetch → plan → build in a
 * container → compare → sign), one job = one subject of one attestation. The
 * pipeline publishes into a per-attempt staging folder, never into the output
 * tree: the daemon promotes the staged files only when the store accepts the
 * result under this attempt's lease.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoadedConfig } from '../config/load.ts';
import { ReprodError, toReprodError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import type { RebuildContext } from '../pipeline/context.ts';
import type { Publication, Sink } from '../publish/index.ts';
import { DirectorySink } from '../publish/sinks/directory.ts';
import type { Job } from '../store/types.ts';
import type { JobResult, JobRunner, RunContext } from './runner.ts';

/**
 * Codes of `error` verdicts caused by infrastructure, worth another attempt.
 * Everything else (bad input, failed build, policy) is final.
 */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set(['DOCKER_UNAVAILABLE', 'FETCH_FAILED', 'SOURCE_FETCH_FAILED', 'STORE_ERROR', 'PUBLISH_FAILED', 'SIGNING_FAILED']);

/** Keeps what the pipeline would send to extra sinks, for the daemon to send after the store commits. */
class CaptureSink implements Sink {
  readonly name = 'capture';
  readonly items: Publication[] = [];
  async publish(p: Publication): Promise<void> {
    this.items.push(p);
  }
}

export interface PipelineRunnerOptions {
  loaded: LoadedConfig;
  logger: Logger;
  stagingDir: string;
}

interface DockerHelpers {
  connectDocker?: (socket?: string) => Promise<unknown>;
  removeStaleContainers?: (docker: unknown) => Promise<unknown>;
}

type Pipeline = [typeof import('../pipeline/wire.ts'), typeof import('../pipeline/rebuild.ts')];

/** The pipeline modules, loaded on first use: a missing part is a job error, not a daemon that cannot start. */
async function loadPipeline(): Promise<Pipeline> {
  try {
    return await Promise.all([import('../pipeline/wire.ts'), import('../pipeline/rebuild.ts')]);
  } catch (e) {
    throw new ReprodError('INTERNAL', `the rebuild pipeline cannot be loaded: ${(e as Error).message}`, { cause: e });
  }
}

export async function createPipelineRunner(o: PipelineRunnerOptions): Promise<JobRunner> {
  let pipeline: Pipeline | undefined;
  let ctx: RebuildContext | undefined;
  // Connected lazily and again after a failure: Docker may be down at start and come back.
  const context = async (): Promise<RebuildContext> => {
    pipeline ??= await loadPipeline();
    ctx ??= await pipeline[0].wireContext({ loaded: o.loaded, logger: o.logger, outDir: o.stagingDir });
    return ctx;
  };
  return {
    async recover(): Promise<void> {
      try {
        const helpers = (await import('../build/docker.ts' as string)) as DockerHelpers;
        if (!helpers.connectDocker || !helpers.removeStaleContainers) return;
        const docker = await helpers.connectDocker(o.loaded.config.docker.socket);
        const removed = await helpers.removeStaleContainers(docker);
        o.logger.info({ removed }, 'removed orphan build containers of a previous run');
      } catch (e) {
        o.logger.warn({ err: toReprodError(e).message }, 'could not look for orphan build containers (Docker down?); builds will retry');
      }
    },
    async run(job: Job, rc: RunContext): Promise<JobResult> {
      let base: RebuildContext;
      try {
        base = await context();
      } catch (e) {
        ctx = undefined;
        if (e instanceof ReprodError && !RETRYABLE_CODES.has(e.code)) throw e;
        const code = e instanceof ReprodError ? e.code : 'DOCKER_UNAVAILABLE';
        throw new ReprodError(code, `cannot connect the pipeline: ${(e as Error).message}`, { cause: e, retryable: true });
      }
      const staging = join(o.stagingDir, `${job.id}-${rc.attempt}`);
      await rm(staging, { recursive: true, force: true });
      const capture = new CaptureSink();
      const jobCtx: RebuildContext = {
        ...base,
        publish: { ...base.publish, directory: new DirectorySink(staging), sinks: [capture], audit: undefined },
      } as RebuildContext;
      rc.log(`rebuilding ${job.subject.name} from attestation ${job.attestationSha256}`);
      const verdicts = await pipeline![1].rebuildAttestation(rc.attestation, jobCtx, {
        signal: rc.signal,
        jobId: `${job.id}-a${rc.attempt}`,
        subject: job.subject.sha256.startsWith('sha512:') ? job.subject.name : job.subject.sha256,
        onProgress: (e) => rc.log(`${JSON.stringify(e)}`),
      });
      const v = verdicts[0];
      if (!v) throw toReprodError(new Error(`the pipeline returned no verdict for ${job.subject.name}`));
      const error = v.error ? { ...v.error, retryable: RETRYABLE_CODES.has(v.error.code) } : undefined;
      if (error?.code === 'DOCKER_UNAVAILABLE') ctx = undefined;
      return {
        outcome: v.outcome,
        ...(error ? { error } : {}),
        stagedDir: v.dir,
        publications: capture.items,
        details: { verdict: v.verdict, plan: v.verdict.plan ?? null, timings: v.verdict.timings ?? null },
      };
    },
  };
}
