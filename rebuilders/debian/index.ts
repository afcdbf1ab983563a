import type { VerifiedClaim } from '../../src/attest/types.ts';
import { DEFAULT_HOSTNAME } from '../../src/config/defaults.ts';
import { DEBIAN_BUILD_TYPE, debianParameters, upstreamVersion, withoutEpoch, type DebianParameters } from '../../src/inputs/debian/claim.ts';
import { baseEnv, invalid, sortKeys } from '../../src/plan/common.ts';
import type { PlanFacts, Rebuilder, SourceRef } from '../../src/plan/rebuilder.ts';
import type { BuildPlan, BuildStep, PlanOutput } from '../../src/plan/types.ts';
import { clockCommand, packagesFromLog, PACKAGES_MARKER, TOOLCHAIN_DRIFT_NOTE, toolchainDrift } from './toolchain.ts';
import type { DebianFacts } from './types.ts';

export type { Clock, DebianFacts } from './types.ts';
export { toolchainDrift, packagesFromLog } from './toolchain.ts';

/**
 * Debian: a source package and the `.debs` built from it (a `.buildinfo`, or the
 * archive's signed indices). The source package (.dsc and its files) is fetched
 * and verified on the host before planning and copied into the build folder;
 * the builder image holds exactly the buildinfo's Installed-Build-Depends; with
 * the network off the plan checks the files' sha256, unpacks with dpkg-source at
 * the recorded Build-Path and runs dpkg-buildpackage with the recorded
 * environment (and, if asked, a faked clock).
 */

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Recorded variables that describe the vendor's machine, not the build; never replayed. */
const NOT_REPLAYED = new Set(['PATH', 'HOME', 'USER', 'LOGNAME', 'PWD', 'SHELL', 'TERM', 'MAIL', 'OLDPWD', 'LD_PRELOAD', 'LD_LIBRARY_PATH']);

function params(vc: VerifiedClaim): DebianParameters {
  const p = debianParameters(vc);
  if (!p || typeof p.source !== 'string' || typeof p.version !== 'string' || typeof p.architecture !== 'string') throw invalid('the Debian claim names no source package, version and architecture');
  return p;
}

/** The folder dpkg-source unpacks into: the recorded Build-Path, else /build/<source>-<upstream version>. */
export function buildPathOf(p: DebianParameters): string {
  return p.buildinfo?.buildPath ?? `/build/${p.source}-${upstreamVersion(p.version)}`;
}

/** dpkg-buildpackage's build type from the buildinfo's Architecture: -b both, -B arch only, -A indep only. */
export function buildTypeFlag(p: DebianParameters): string {
  const archs = p.buildinfo?.architectures ?? [p.architecture];
  const indep = archs.includes('all');
  const arch = archs.some((a) => a !== 'all');
  return indep && arch ? '-b' : indep ? '-A' : '-B';
}

/** SOURCE_DATE_EPOCH: as the buildinfo recorded it, else the debian/changelog date the source stage read. */
function sourceDateEpoch(p: DebianParameters, facts: DebianFacts): number {
  const recorded = p.buildinfo?.environment.SOURCE_DATE_EPOCH;
  if (recorded !== undefined && /^\d+$/.test(recorded)) return Number(recorded);
  return facts.changelogEpoch;
}

export const debian: Rebuilder = {
  name: 'debian',
  buildTypes: [DEBIAN_BUILD_TYPE],
  source(vc): SourceRef {
    const p = params(vc);
    // Not git: `repo` names the source package; the dsc's sha256 pins it once fetched.
    return { repo: `deb-src:${p.source}=${p.version}`, commit: '' };
  },
  overrideKey(vc) {
    const p = params(vc);
    return [p.source, withoutEpoch(p.version)];
  },
  notesAfterBuild(facts: PlanFacts, log: string): string[] {
    const want = facts.debian?.installedBuildDepends ?? [];
    return toolchainDrift(want, packagesFromLog(log)).map((d) => `${TOOLCHAIN_DRIFT_NOTE}${d}`);
  },
  plan(vc: VerifiedClaim, facts: PlanFacts): BuildPlan {
    const p = params(vc);
    const d = facts.debian;
    if (!d) throw invalid('the Debian rebuilder needs the fetched source package and builder image (facts.debian)');
    const buildPath = buildPathOf(p);
    const slash = buildPath.lastIndexOf('/');
    const workdir = buildPath.slice(0, slash) || '/build';
    const dir = buildPath.slice(slash + 1);
    if (workdir === '/' || !dir) throw invalid(`Build-Path ${buildPath} needs a parent folder`);
    const recorded = Object.fromEntries(Object.entries(p.buildinfo?.environment ?? {}).filter(([k]) => ENV_NAME.test(k) && !NOT_REPLAYED.has(k)));
    const sde = sourceDateEpoch(p, d);
    const env = sortKeys({ ...baseEnv(sde), ...recorded, ...(facts.override?.env ?? {}), SOURCE_DATE_EPOCH: String(sde) });
    const checks = d.files.map((f) => `${f.sha256}  ${f.name}`).join('\n');
    const buildCommand = facts.override?.command ?? ['dpkg-buildpackage', buildTypeFlag(p), '--no-sign'];
    const build: BuildStep[] = [
      { name: 'check source files', run: ['sh', '-c', 'printf "%s\\n" "$1" | sha256sum --strict --quiet -c -', 'sh', checks] },
      { name: 'unpack source', run: ['dpkg-source', '-x', d.dsc, dir] },
      // Printed so the verdict can name toolchain drift (a build dependency differing from the buildinfo's).
      { name: 'installed packages', run: ['sh', '-c', `dpkg-query -W -f='${PACKAGES_MARKER} \${Package} \${Version}\\n'`] },
      { name: 'dpkg-buildpackage', run: ['sh', '-c', 'cd "$1" && shift && exec "$@"', 'sh', dir, ...clockCommand(d.clock, p, sde), ...buildCommand] },
    ];
    const outputs: PlanOutput[] = vc.claim.subjects.map((s) => {
      if (!/^[a-z0-9][a-z0-9+.~%_-]*\.u?deb$/.test(s.name)) throw invalid(`subject ${JSON.stringify(s.name)} is not a .deb file name`);
      return { name: s.name, path: s.name, sha256: s.sha256, digest: { sha256: s.sha256 } };
    });
    const notes = [`clock: ${d.clock}`, ...(facts.override ? [`override applied: ${facts.override.why}`] : []), ...(d.notes ?? [])];
    return {
      planVersion: 1,
      rebuilder: 'debian',
      source: { repo: `deb-src:${p.source}=${p.version}`, commit: d.dscSha256 },
      image: d.image,
      workdir,
      hostname: DEFAULT_HOSTNAME,
      env,
      fetch: [],
      pinned: [],
      build,
      outputs,
      limits: facts.limits,
      clock: d.clock,
      notes,
    };
  },
};
