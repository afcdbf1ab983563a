import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import type { BuildResult, BuiltOutput } from '../build/types.ts';
import { CONTAINER_LABEL } from '../config/defaults.ts';
import { ReprodError } from '../errors.ts';
import type { BuildPlan } from '../plan/types.ts';
import { ASSET_MOUNT } from './variations.ts';

/**
 * Runs one experiment plan in a hermetic container (DESIGN.md section 5:
 * image by id, network none, all capabilities dropped, no-new-privileges,
 * pids/memory/CPU limits, wall-clock timeout, source mounted read-only and
 * copied to the build path) with what the check needs beyond a plain build:
 * the host assets mounted read-only, and any uid. The build path is a tmpfs
 * owned by the plan's user, so a non-root build can write it without
 * CAP_CHOWN; outputs are copied to a host folder before the tmpfs goes away.
 */
export interface ContainerRunOptions {
  jobId: string;
  sourceDir: string;
  jobDir: string;
  /** Host folder mounted read-only at ASSET_MOUNT, when the experiment needs assets. */
  assetsDir?: string;
  signal?: AbortSignal;
}

const SOURCE_MOUNT = '/reprod-source';
const OUT_MOUNT = '/reprod-out';

/** Single-quotes a word for sh. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The script the container runs: copy the source in, run every step, hand the outputs out. Pure. */
export function containerScript(plan: BuildPlan): string {
  const w = shQuote(plan.workdir);
  const lines = ['set -e', `cp -R --preserve=mode,timestamps ${SOURCE_MOUNT}/. ${w}`, `cd ${w}`];
  for (const step of plan.build) lines.push(`echo ${shQuote(`--- ${step.name}`)} >&2`, step.run.map(shQuote).join(' '));
  plan.outputs.forEach((o, i) => {
    const p = shQuote(o.path);
    // Only regular files leave the container: a link could point anywhere.
    lines.push(`if [ -f ${p} ] && [ ! -L ${p} ]; then cat -- ${p} > ${OUT_MOUNT}/${i}; fi`);
  });
  return lines.join('\n');
}

function uidOf(user: string | undefined): { uid: number; gid: number } {
  if (!user) return { uid: 0, gid: 0 };
  const [u, g] = user.split(':');
  return { uid: Number(u), gid: Number(g ?? u) };
}

async function sha256Of(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

export async function runInContainer(docker: Docker, plan: BuildPlan, opts: ContainerRunOptions): Promise<BuildResult> {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const outDir = join(opts.jobDir, 'out');
  await mkdir(outDir, { recursive: true });
  // The build may run as any uid: it must be able to write its outputs here.
  await chmod(outDir, 0o777);
  const logPath = join(opts.jobDir, 'build.log');
  const { uid, gid } = uidOf(plan.user);
  const binds = [`${opts.sourceDir}:${SOURCE_MOUNT}:ro`, `${outDir}:${OUT_MOUNT}:rw`];
  if (opts.assetsDir) binds.push(`${opts.assetsDir}:${ASSET_MOUNT}:ro`);
  let container: Docker.Container;
  try {
    container = await docker.createContainer({
      Image: plan.image.digest,
      Cmd: ['sh', '-c', containerScript(plan)],
      Env: Object.entries(plan.env).map(([k, v]) => `${k}=${v}`),
      Hostname: plan.hostname,
      ...(plan.domainname ? { Domainname: plan.domainname } : {}),
      User: `${uid}:${gid}`,
      WorkingDir: '/',
      Labels: { [CONTAINER_LABEL]: opts.jobId },
      NetworkDisabled: true,
      HostConfig: {
        NetworkMode: 'none',
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        PidsLimit: plan.limits.pids,
        Memory: plan.limits.memoryBytes,
        NanoCpus: Math.round(plan.limits.cpus * 1e9),
        Binds: binds,
        Tmpfs: { [plan.workdir]: `rw,exec,mode=0755,uid=${uid},gid=${gid}` },
      },
    });
  } catch (e) {
    const status = (e as { statusCode?: number }).statusCode;
    if (status === 404) throw new ReprodError('IMAGE_NOT_FOUND', `image ${plan.image.digest} is not on this Docker engine`, { cause: e, jobId: opts.jobId });
    throw new ReprodError('DOCKER_UNAVAILABLE', `could not create the build container: ${(e as Error).message}`, { cause: e, jobId: opts.jobId, retryable: true });
  }
  const log = createWriteStream(logPath);
  let logged = 0;
  const capped = new PassThrough();
  capped.on('data', (chunk: Buffer) => {
    if (logged < plan.limits.logBytes) log.write(chunk.subarray(0, plan.limits.logBytes - logged));
    logged += chunk.length;
  });
  let timer: NodeJS.Timeout | undefined;
  const kill = () => void container.kill().catch(() => undefined);
  opts.signal?.addEventListener('abort', kill, { once: true });
  try {
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    docker.modem.demuxStream(stream, capped, capped);
    await container.start();
    let timedOut = false;
    timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, plan.limits.timeoutSeconds * 1000);
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    await new Promise((r) => setTimeout(r, 50)); // let the last log bytes arrive
    if (opts.signal?.aborted) throw new ReprodError('BUILD_FAILED', 'the check was cancelled', { jobId: opts.jobId });
    if (timedOut) throw new ReprodError('BUILD_TIMEOUT', `the build ran over ${plan.limits.timeoutSeconds}s`, { jobId: opts.jobId });
    const info = await container.inspect();
    if (info.State.OOMKilled) throw new ReprodError('BUILD_OOM', 'the build ran out of memory', { jobId: opts.jobId });
    if (StatusCode !== 0) {
      throw new ReprodError('BUILD_FAILED', `the build exited with ${StatusCode}`, { jobId: opts.jobId, details: { exitCode: StatusCode, logPath } });
    }
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', kill);
    await container.remove({ force: true }).catch(() => undefined);
    await new Promise<void>((r) => log.end(r));
  }
  const outputs: BuiltOutput[] = [];
  const present = new Set(await readdir(outDir));
  for (const [i, o] of plan.outputs.entries()) {
    const path = join(outDir, String(i));
    if (!present.has(String(i)) || !(await lstat(path)).isFile()) {
      throw new ReprodError('OUTPUT_MISSING', `the build did not produce ${o.path} (as a regular file)`, { jobId: opts.jobId, details: { output: o.name } });
    }
    outputs.push({ name: o.name, path, sha256: await sha256Of(path), size: (await lstat(path)).size });
  }
  const finishedAt = new Date().toISOString();
  return {
    imageId: plan.image.digest,
    outputs,
    logPath,
    logSha256: await sha256Of(logPath),
    startedAt,
    finishedAt,
    phases: [{ phase: 'build', startedAt, ms: Math.round(performance.now() - t0) }],
  };
}

/** Output names are paths relative to the workdir; used as subject names in reports. */
export function outputName(path: string): string {
  return posix.normalize(path);
}
