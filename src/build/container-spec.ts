/**
 * The hermetic container settings of each phase, as pure functions of the plan
 * (so tests and readers see them in one place): image by id, no capabilities,
 * no-new-privileges, pids/memory/CPU limits, fixed hostname, env and umask, the
 * job volume at the fixed build path, and NetworkMode none for the build phase.
 */
import { posix } from 'node:path';
import type { ContainerCreateOptions } from 'dockerode';
import { ReprodError } from '../errors.ts';
import type { BuildPlan, BuildStep } from '../plan/types.ts';

export type Phase = 'prepare' | 'fetch' | 'build';
export type FetchNetwork = 'host' | 'bridge' | 'none';

export const SOURCE_MOUNT = '/reprod/source';
export const PHASE_LABEL = 'dev.reprod.phase';
/** Printed by the step script when a step fails: `__reprod_failed_step__ <index> <exit code>`. */
export const FAILED_STEP_MARKER = '__reprod_failed_step__';
const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;
const USER = /^[0-9]+(:[0-9]+)?$/;

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Checks what the executor relies on; a plan is data and may come from a file. */
export function checkPlan(plan: BuildPlan): void {
  const bad = (msg: string) => new ReprodError('PLAN_INVALID', msg, { details: { plan: plan.rebuilder } });
  if (!IMAGE_ID.test(plan.image.digest)) throw bad(`plan.image.digest must be an image id sha256:<64 hex>, not ${JSON.stringify(plan.image.digest)} (mutable tags are refused)`);
  if (!posix.isAbsolute(plan.workdir) || posix.normalize(plan.workdir) !== plan.workdir || plan.workdir === '/' || plan.workdir.endsWith('/')) {
    throw bad(`plan.workdir must be a normalised absolute path below /, not ${JSON.stringify(plan.workdir)}`);
  }
  if (plan.user !== undefined && !USER.test(plan.user)) throw bad(`plan.user must be uid or uid:gid, not ${JSON.stringify(plan.user)}`);
  if (plan.build.length === 0) throw bad('plan.build has no steps');
  for (const s of [...plan.fetch, ...plan.build]) if (s.run.length === 0) throw bad(`step ${JSON.stringify(s.name)} has an empty command`);
  const l = plan.limits;
  for (const [k, v] of Object.entries(l)) if (!(typeof v === 'number' && v > 0)) throw bad(`plan.limits.${k} must be a positive number`);
}

/** A sh script running steps in order under umask 022; the first failure ends it with that step's code. */
export function stepsScript(phase: Phase, steps: BuildStep[], workdir: string): string {
  const lines = ['umask 022', `cd ${shellQuote(workdir)} || exit 125`];
  steps.forEach((s, i) => {
    lines.push(`printf '%s\\n' ${shellQuote(`=== ${phase} step ${i + 1}/${steps.length}: ${s.name}`)}`);
    lines.push(`${s.run.map(shellQuote).join(' ')} </dev/null || { rc=$?; printf '\\n${FAILED_STEP_MARKER} ${i} %s\\n' "$rc"; exit "$rc"; }`);
  });
  return lines.join('\n');
}

/** Copies the read-only source into the job volume, owned by the build user. */
export function prepareScript(workdir: string, user?: string): string {
  return [
    'set -e',
    'umask 022',
    `cp -R --preserve=mode,timestamps ${SOURCE_MOUNT}/. ${shellQuote(workdir)}/`,
    user ? `chown -R ${shellQuote(user)} ${shellQuote(workdir)}` : ':',
  ].join('\n');
}

export interface SpecInput {
  plan: BuildPlan;
  phase: Phase;
  jobId: string;
  labels: Record<string, string>;
  volume: string;
  sourceDir?: string;
  fetchNetwork: FetchNetwork;
  /** Extra host folders mounted read-only in the fetch and build phases (`reprod check`'s libfaketime, shims, locales). */
  readOnlyMounts?: { source: string; target: string }[];
  /** CPUs of the engine's machine: the engine refuses a CPU limit above it. */
  hostCpus?: number;
}

export function containerEnv(plan: BuildPlan): string[] {
  const env: Record<string, string> = { TZ: 'UTC', LC_ALL: 'C.UTF-8', ...(plan.user ? { HOME: '/tmp' } : {}), ...plan.env };
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

export function containerSpec(input: SpecInput): ContainerCreateOptions {
  const { plan, phase } = input;
  const prepare = phase === 'prepare';
  const cmd = prepare ? prepareScript(plan.workdir, plan.user) : stepsScript(phase, phase === 'fetch' ? plan.fetch : plan.build, plan.workdir);
  const mounts: NonNullable<NonNullable<ContainerCreateOptions['HostConfig']>['Mounts']> = [{ Type: 'volume', Source: input.volume, Target: plan.workdir }];
  if (prepare) {
    if (!input.sourceDir) throw new ReprodError('INTERNAL', 'prepare phase needs the source folder');
    mounts.push({ Type: 'bind', Source: input.sourceDir, Target: SOURCE_MOUNT, ReadOnly: true });
  } else {
    for (const m of input.readOnlyMounts ?? []) mounts.push({ Type: 'bind', Source: m.source, Target: m.target, ReadOnly: true });
  }
  return {
    Image: plan.image.digest,
    Cmd: ['sh', '-c', cmd],
    Env: containerEnv(plan),
    WorkingDir: prepare ? '/' : plan.workdir,
    // Prepare runs as root to set ownership; steps run as the plan's user.
    ...(!prepare && plan.user ? { User: plan.user } : { User: '0:0' }),
    Hostname: plan.hostname,
    ...(plan.domainname ? { Domainname: plan.domainname } : {}),
    Labels: { ...input.labels, [PHASE_LABEL]: phase },
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    OpenStdin: false,
    StopTimeout: 1,
    HostConfig: {
      NetworkMode: phase === 'fetch' ? input.fetchNetwork : 'none',
      CapDrop: ['ALL'],
      // Copying the source in must set owners and read any file; no build code runs then.
      ...(prepare ? { CapAdd: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER'] } : {}),
      SecurityOpt: ['no-new-privileges'],
      PidsLimit: plan.limits.pids,
      Memory: plan.limits.memoryBytes,
      MemorySwap: plan.limits.memoryBytes,
      NanoCpus: Math.round(Math.min(plan.limits.cpus, input.hostCpus ?? plan.limits.cpus) * 1e9),
      // No single file may outgrow the scratch cap (the kernel stops it: EFBIG); the executor meters the total.
      ...(plan.limits.scratchBytes ? { Ulimits: [{ Name: 'fsize', Soft: plan.limits.scratchBytes, Hard: plan.limits.scratchBytes }] } : {}),
      Mounts: mounts,
      // A real PID 1 reaps zombies and forwards the kill on timeout.
      Init: true,
      AutoRemove: false,
      LogConfig: { Type: 'none', Config: {} },
    },
  };
}
