/**
 * The hermetic executor: runs a BuildPlan in containers and returns a BuildResult.
 *
 * API: `executePlan(docker, plan, opts)` with
 *   opts = { jobId, sourceDir, jobDir, fetchNetwork, logger, signal?, onProgress? }.
 * Writes `jobDir/build.log` and the outputs under `jobDir/out/`; throws a coded
 * ReprodError (BUILD_FAILED, BUILD_TIMEOUT, BUILD_OOM, BUILD_CANCELLED, FETCH_FAILED,
 * INPUT_DIGEST_MISMATCH, IMAGE_NOT_FOUND, OUTPUT_MISSING, OUTPUT_PATH_ESCAPE, …).
 *
 * Mechanics: a per-job volume holds the fixed build path. `prepare` copies the
 * read-only source mount into it; `fetch` (only when the plan has fetch steps)
 * runs with the configured network and its pinned files are checked by sha256;
 * `build` runs with NetworkMode none; outputs are read from the stopped build
 * container through the archive API. Containers and the volume are labelled with
 * the job id and always removed.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, posix, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import type Docker from 'dockerode';
import { ReprodError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import type { BuildPlan } from '../plan/types.ts';
import { BuildLog } from './build-log.ts';
import { checkPlan, containerSpec, FAILED_STEP_MARKER, type FetchNetwork, type Phase } from './container-spec.ts';
import { ownerLabels } from './docker.ts';
import { extractTar, safeEntryPath } from './output-tar.ts';
import { runContainer, type RunResult } from './run-container.ts';
import type { BuildResult, BuiltOutput, PhaseTiming } from './types.ts';

export interface ExecuteOptions {
  jobId: string;
  /** Host folder with the source at the pinned commit; mounted read-only. */
  sourceDir: string;
  /** Host folder of this job; build.log and out/ are written here, nothing elsewhere. */
  jobDir: string;
  fetchNetwork: FetchNetwork;
  logger: Logger;
  signal?: AbortSignal;
  onProgress?: (phase: string, detail?: string) => void;
  /** Host folders mounted read-only in the fetch and build phases (never the source; that is copied). */
  readOnlyMounts?: { source: string; target: string }[];
}

/** How often a running container's disk use is measured against limits.scratchBytes. */
export const SCRATCH_POLL_MS = 1000;

function isNotFound(e: unknown): boolean {
  return (e as { statusCode?: number }).statusCode === 404;
}

/** Where an output lands on the host: out/<name>, refusing names that climb out. */
function outputHostPath(outDir: string, name: string, jobId: string): string {
  const rel = name.startsWith('/') ? undefined : safeEntryPath(name, jobId);
  const dest = rel ? resolve(outDir, rel) : '';
  if (!rel || !dest.startsWith(resolve(outDir) + sep)) {
    throw new ReprodError('OUTPUT_PATH_ESCAPE', `output name ${JSON.stringify(name)} leaves the output folder`, { jobId, details: { output: name } });
  }
  return dest;
}

function containerPath(plan: BuildPlan, path: string): string {
  return posix.isAbsolute(path) ? posix.normalize(path) : posix.join(plan.workdir, path);
}

async function archiveOf(container: Docker.Container, path: string): Promise<Readable | undefined> {
  try {
    return (await container.getArchive({ path })) as unknown as Readable;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

export async function executePlan(docker: Docker, plan: BuildPlan, opts: ExecuteOptions): Promise<BuildResult> {
  checkPlan(plan);
  const { jobId } = opts;
  if (opts.signal?.aborted) throw new ReprodError('BUILD_CANCELLED', 'cancelled before the build started', { jobId, retryable: true });
  const progress = opts.onProgress ?? (() => undefined);
  const logger = opts.logger.child({ jobId });
  try {
    await docker.getImage(plan.image.digest).inspect();
  } catch (e) {
    if (isNotFound(e)) throw new ReprodError('IMAGE_NOT_FOUND', `builder image ${plan.image.digest} (${plan.image.ref}) is not on this Docker engine`, { jobId, details: { image: plan.image } });
    throw new ReprodError('DOCKER_UNAVAILABLE', `Docker engine failed: ${(e as Error).message}`, { jobId, cause: e, retryable: true });
  }

  const jobDir = resolve(opts.jobDir);
  const outDir = join(jobDir, 'out');
  await mkdir(outDir, { recursive: true });
  const log = new BuildLog(join(jobDir, 'build.log'), plan.limits.logBytes, logger);
  const labels = ownerLabels(jobId);
  const suffix = randomBytes(4).toString('hex');
  const volume = `reprod-${jobId.replace(/[^a-zA-Z0-9_.-]/g, '_').slice(0, 80)}-${suffix}`;
  const containers: Docker.Container[] = [];
  const phases: PhaseTiming[] = [];
  const startedAt = new Date().toISOString();
  let logSha256 = '';

  const phase = async (name: Phase, timeoutSeconds: number): Promise<{ result: RunResult; container: Docker.Container }> => {
    log.phase(name);
    progress(name, name === 'build' ? `${plan.build.length} step(s), network off` : name === 'fetch' ? `${plan.fetch.length} step(s), network ${opts.fetchNetwork}` : 'copying source');
    const t0 = performance.now();
    const at = new Date().toISOString();
    let container: Docker.Container | undefined;
    const spec = containerSpec({
      plan,
      phase: name,
      jobId,
      labels,
      volume,
      sourceDir: resolve(opts.sourceDir),
      fetchNetwork: opts.fetchNetwork,
      hostCpus: availableParallelism(),
      ...(opts.readOnlyMounts ? { readOnlyMounts: opts.readOnlyMounts } : {}),
    });
    const scratch = plan.limits.scratchBytes;
    const result = await runContainer(docker, spec, {
      timeoutMs: timeoutSeconds * 1000,
      log,
      ...(scratch ? { disk: { limitBytes: scratch, volume, intervalMs: SCRATCH_POLL_MS } } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      onCreated: (c) => {
        container = c;
        containers.push(c);
      },
    });
    phases.push({ phase: name, startedAt: at, ms: Math.round(performance.now() - t0), exitCode: result.exitCode });
    logger.info({ phase: name, exitCode: result.exitCode, ms: Math.round(performance.now() - t0) }, `${name} phase ended`);
    return { result, container: container! };
  };

  try {
    await docker.createVolume({ Name: volume, Labels: labels });
    // prepare: source → job volume
    const prep = await phase('prepare', plan.limits.fetchTimeoutSeconds);
    failOn(prep.result, 'prepare');

    if (plan.fetch.length > 0) {
      const fetch = await phase('fetch', plan.limits.fetchTimeoutSeconds);
      failOn(fetch.result, 'fetch');
      await checkPinned(fetch.container);
    } else if (plan.pinned.length > 0) {
      throw new ReprodError('PLAN_INVALID', 'plan pins inputs but has no fetch steps to produce them', { jobId });
    }

    const build = await phase('build', plan.limits.timeoutSeconds);
    failOn(build.result, 'build');

    progress('collect', `${plan.outputs.length} output(s)`);
    const t0 = performance.now();
    const outputs = await collect(build.container);
    phases.push({ phase: 'collect', startedAt: new Date().toISOString(), ms: Math.round(performance.now() - t0) });
    logSha256 = await log.close();
    return { imageId: plan.image.digest, outputs, logPath: log.path, logSha256, startedAt, finishedAt: new Date().toISOString(), phases };
  } catch (e) {
    if (!logSha256) await log.close().catch(() => undefined);
    if (e instanceof ReprodError) throw e;
    // Engine answers (HTTP status) and socket failures are the engine's; anything else is ours.
    const err = e as { statusCode?: number; code?: string; message?: string };
    // The engine refusing the settings (400) is a bad plan, not an outage.
    if (err.statusCode === 400) throw new ReprodError('PLAN_INVALID', `the Docker engine refused the plan's container settings: ${err.message ?? String(e)}`, { jobId, cause: e });
    const engine = err.statusCode !== undefined || ['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EPIPE'].includes(err.code ?? '');
    throw new ReprodError(engine ? 'DOCKER_UNAVAILABLE' : 'INTERNAL', `${engine ? 'Docker engine failed during the build' : 'build failed'}: ${err.message ?? String(e)}`, { jobId, cause: e, retryable: engine });
  } finally {
    for (const c of containers) await c.remove({ force: true, v: true }).catch(() => undefined);
    await docker.getVolume(volume).remove().catch(() => undefined);
    await rm(join(jobDir, '.collect'), { recursive: true, force: true });
  }

  function failOn(r: RunResult, name: Phase): void {
    const tail = log.tail();
    const limits = plan.limits;
    const details = { phase: name, exitCode: r.exitCode, logTail: tail };
    if (r.aborted) throw new ReprodError('BUILD_CANCELLED', `${name} phase cancelled`, { jobId, retryable: true, details });
    if (r.logLimit) {
      throw new ReprodError('BUILD_LOG_LIMIT', `${name} phase printed more than ${limits.logBytes} bytes of log (limits.logBytes) and was stopped`, { jobId, details: { ...details, logBytes: limits.logBytes } });
    }
    if (r.scratchLimit) {
      throw new ReprodError('BUILD_SCRATCH_LIMIT', `${name} phase wrote ${r.diskBytes} bytes to disk, over limits.scratchBytes (${limits.scratchBytes}), and was stopped`, {
        jobId,
        details: { ...details, scratchBytes: limits.scratchBytes, diskBytes: r.diskBytes },
      });
    }
    if (r.timedOut) {
      const secs = name === 'build' ? limits.timeoutSeconds : limits.fetchTimeoutSeconds;
      if (name === 'fetch') throw new ReprodError('FETCH_FAILED', `fetch phase ran past its ${secs}s limit and was killed`, { jobId, retryable: true, details: { ...details, timeout: true } });
      throw new ReprodError('BUILD_TIMEOUT', `${name} phase ran past its ${secs}s limit and was killed`, { jobId, details: { ...details, timeoutSeconds: secs } });
    }
    if (r.exitCode === 0) return;
    if (r.oomKilled) throw new ReprodError('BUILD_OOM', `${name} phase ran out of memory (limit ${limits.memoryBytes} bytes) and was killed`, { jobId, details: { ...details, memoryBytes: limits.memoryBytes } });
    const marker = new RegExp(`${FAILED_STEP_MARKER} (\\d+) (\\d+)`).exec(log.rawTail());
    const steps = name === 'fetch' ? plan.fetch : plan.build;
    const step = marker ? steps[Number(marker[1])]?.name : undefined;
    const what = `${name} ${step ? `step ${JSON.stringify(step)}` : 'phase'} exited with code ${r.exitCode}${r.exitCode === 137 ? ' (killed; out of memory?)' : ''}`;
    const code = name === 'fetch' ? 'FETCH_FAILED' : 'BUILD_FAILED';
    throw new ReprodError(code, `${what}; last lines of the log:\n${tail}`, { jobId, details: { ...details, ...(step ? { step } : {}) } });
  }

  async function checkPinned(container: Docker.Container): Promise<void> {
    for (const [i, pin] of plan.pinned.entries()) {
      const path = containerPath(plan, pin.path);
      const stream = await archiveOf(container, path);
      if (!stream) throw new ReprodError('FETCH_FAILED', `fetch did not produce the pinned input ${pin.path}`, { jobId, details: { path: pin.path } });
      const entries = await extractTar(stream, join(jobDir, '.collect', `pin-${i}`), { maxBytes: plan.limits.outputBytes, jobId, single: true });
      const file = entries[0];
      if (file?.type !== 'file' || file.sha256 !== pin.sha256) {
        throw new ReprodError('INPUT_DIGEST_MISMATCH', `pinned input ${pin.path} has sha256 ${file?.sha256 ?? `(a ${file?.type ?? 'missing'} entry)`}, expected ${pin.sha256}`, {
          jobId,
          details: { path: pin.path, expected: pin.sha256, actual: file?.sha256 },
        });
      }
      await rm(join(jobDir, '.collect', `pin-${i}`), { recursive: true, force: true });
    }
  }

  async function collect(container: Docker.Container): Promise<BuiltOutput[]> {
    const outputs: BuiltOutput[] = [];
    let budget = plan.limits.outputBytes;
    for (const [i, out] of plan.outputs.entries()) {
      const dest = outputHostPath(outDir, out.name, jobId);
      const path = containerPath(plan, out.path);
      const stream = await archiveOf(container, path);
      if (!stream) throw new ReprodError('OUTPUT_MISSING', `the build did not produce ${out.path} (output ${out.name})`, { jobId, details: { output: out.name, path: out.path } });
      const scratch = join(jobDir, '.collect', String(i));
      const entries = await extractTar(stream, scratch, { maxBytes: budget, jobId, single: true });
      const top = entries[0];
      if (entries.length !== 1 || top?.type !== 'file' || !top.sha256) {
        throw new ReprodError('OUTPUT_MISSING', `output ${out.path} is a ${top?.type ?? 'missing entry'}, not a regular file`, { jobId, details: { output: out.name, type: top?.type } });
      }
      budget -= top.size;
      await mkdir(join(dest, '..'), { recursive: true });
      await rename(join(scratch, top.path), dest);
      outputs.push({ name: out.name, path: dest, sha256: top.sha256, size: top.size });
    }
    return outputs;
  }
}
