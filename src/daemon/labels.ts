/**
 * Worker specialisation: what a job needs (architecture, rebuilder) and whether a
 * worker's labels cover it. Pure; the stores apply the same rule in their claim
 * query, and these functions are what intake uses to label a job at submit time.
 */
import type { Claim } from '../attest/types.ts';
import type { JobRequirements, WorkerLabels } from '../store/pg-types.ts';

/** buildType → rebuilder name. Mirrors the rebuilder registry's keys (rebuilders/). */
export const REBUILDER_BY_BUILD_TYPE: Readonly<Record<string, string>> = {
  'https://reprod.dev/buildtypes/container/v1': 'container',
  'https://github.com/npm/cli/gha/v2': 'npm',
  'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1': 'npm',
  'https://reprod.dev/buildtypes/debian/v1': 'debian',
};

/** Debian architectures named in artifact file names (pkg_1.0_arm64.deb, …-linux-arm64.tar.gz). */
const ARCH_IN_NAME = /(?:[_-])(amd64|arm64|armhf|armel|i386|ppc64el|s390x|riscv64|mips64el)(?:\.|-|_|$)/;
const ARCH_ALIASES: Readonly<Record<string, string>> = { x86_64: 'amd64', aarch64: 'arm64', x64: 'amd64' };

/** What a worker must have to build this subject of this claim. Unknowns stay unset (any worker). */
export function jobRequirements(claim: Claim, subjectName: string, registry: Readonly<Record<string, string>> = REBUILDER_BY_BUILD_TYPE): JobRequirements {
  const req: JobRequirements = {};
  const rebuilder = registry[claim.buildType];
  if (rebuilder) req.rebuilder = rebuilder;
  const declared = claim.externalParameters['arch'] ?? claim.externalParameters['architecture'] ?? claim.externalParameters['platform'];
  if (typeof declared === 'string' && declared !== 'all' && declared !== 'any') {
    const arch = declared.replace(/^linux\//, '');
    req.arch = ARCH_ALIASES[arch] ?? arch;
  } else {
    const m = ARCH_IN_NAME.exec(subjectName);
    if (m) req.arch = m[1]!;
  }
  return req;
}

/** The claim rule: every requirement a job states must be among the worker's labels; missing lists mean any. */
export function canBuild(labels: WorkerLabels, req: JobRequirements): boolean {
  if (req.arch !== undefined && labels.arch?.length && !labels.arch.includes(req.arch)) return false;
  if (req.rebuilder !== undefined && labels.rebuilders?.length && !labels.rebuilders.includes(req.rebuilder)) return false;
  return true;
}
