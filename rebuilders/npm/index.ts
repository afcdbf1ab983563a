import type { Subject, VerifiedClaim } from '../../src/attest/types.ts';
import { DEFAULT_BUILD_PATH, DEFAULT_HOSTNAME } from '../../src/config/defaults.ts';
import { baseEnv, claimSource, invalid, requireCommit, requireRelativePath, sortKeys } from '../../src/plan/common.ts';
import type { PlanFacts, Rebuilder, SourceRef } from '../../src/plan/rebuilder.ts';
import type { BuildPlan, BuildStep, PlanOutput } from '../../src/plan/types.ts';

/**
 * npm provenance (published by `npm publish --provenance` from GitHub Actions):
 * clone the repository at the commit, `npm ci --ignore-scripts` in the fetch
 * phase (npm checks every integrity hash of the lockfile), then with the network
 * off run the package's build script, if any, and `npm pack`.
 */
export const NPM_BUILD_TYPES = [
  'https://github.com/npm/cli/gha/v2',
  /** SLSA provenance v0.2 as npm 9 emitted it. */
  'https://github.com/npm/cli/gha@v1',
  'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1',
] as const;

/** The build's first step prints this marker with the image's node and npm versions. */
export const TOOLS_MARKER = 'reprod-tools:';

/** Reads `reprod-tools: node=v18.19.0 npm=9.2.0` from a build log. */
export function toolsFromLog(log: string): { node?: string; npm?: string } {
  const line = log.split('\n').find((l) => l.startsWith(TOOLS_MARKER));
  if (!line) return {};
  const node = /node=v?(\S+)/.exec(line)?.[1];
  const npmV = /npm=(\S+)/.exec(line)?.[1];
  return { ...(node ? { node } : {}), ...(npmV ? { npm: npmV } : {}) };
}

/** The host's npm registry URL is handed to the fetch phase under this name at run time. */
export const NPM_REGISTRY_ENV = 'NPM_CONFIG_REGISTRY';

const PURL = /^pkg:npm\/((?:%40|@)[a-z0-9][a-z0-9._~-]*\/)?([a-z0-9][a-z0-9._~-]*)@([0-9A-Za-z.+-]+)$/i;

export interface NpmPackageId {
  name: string;
  version: string;
  /** The file `npm pack` writes: `<scope>-<name>-<version>.tgz`. */
  tarball: string;
}

/** `pkg:npm/%40scope/name@1.0.0` → `{name: @scope/name, version: 1.0.0, tarball: scope-name-1.0.0.tgz}`. */
export function npmPackageId(subjectName: string): NpmPackageId {
  const m = PURL.exec(subjectName);
  if (!m) throw invalid(`subject ${JSON.stringify(subjectName)} is not an npm package URL (pkg:npm/name@version)`);
  const scope = m[1] ? m[1].replace(/^%40|^@/, '').slice(0, -1) : undefined;
  const name = scope ? `@${scope}/${m[2]}` : m[2]!;
  const version = m[3]!;
  return { name, version, tarball: `${scope ? `${scope}-` : ''}${m[2]}-${version}.tgz` };
}

function subject(vc: VerifiedClaim): Subject {
  if (vc.claim.subjects.length !== 1) throw invalid(`npm provenance should have one subject, has ${vc.claim.subjects.length}`);
  return vc.claim.subjects[0]!;
}

function source(vc: VerifiedClaim): SourceRef {
  const found = claimSource(vc);
  if (!found) throw invalid('the npm provenance names no git source with a commit');
  return { ...found, commit: requireCommit(found.commit, 'source commit') };
}

/** Runs `argv` in the package folder (monorepos keep the package below the root). */
function inDir(dir: string | undefined, argv: string[]): string[] {
  if (dir === undefined) return argv;
  return ['sh', '-c', `cd "$1" && shift && exec "$@"`, 'sh', dir, ...argv];
}

function versionNotes(facts: PlanFacts, have: { node?: string; npm?: string } = facts.imageTools ?? {}): string[] {
  const notes: string[] = [];
  const up = facts.npm ?? {};
  if (up.npmVersion === undefined && up.nodeVersion === undefined) notes.push('the registry recorded no npm/node versions for this package version');
  for (const [tool, want, got] of [
    ['npm', up.npmVersion, have.npm],
    ['node', up.nodeVersion, have.node],
  ] as const) {
    if (want !== undefined && got !== undefined && want.replace(/^v/, '') !== got.replace(/^v/, '')) notes.push(`upstream packed with ${tool} ${want}; the builder image has ${tool} ${got}`);
  }
  if (facts.override) notes.push(`override applied: ${facts.override.why}`);
  return notes;
}

export const npm: Rebuilder = {
  name: 'npm',
  buildTypes: NPM_BUILD_TYPES,
  source,
  overrideKey(vc) {
    const { name, version } = npmPackageId(subject(vc).name);
    return [...name.split('/'), version];
  },
  notesAfterBuild(facts: PlanFacts, log: string): string[] {
    const seen = toolsFromLog(log);
    // Only the version comparison: the plan's own notes are already in the verdict.
    return seen.node || seen.npm ? versionNotes({ ...facts, override: undefined, npm: facts.npm ?? {} }, seen).filter((n) => n.startsWith('upstream packed')) : [];
  },
  plan(vc: VerifiedClaim, facts: PlanFacts): BuildPlan {
    const subj = subject(vc);
    const pkg = npmPackageId(subj.name);
    if (!facts.builderImage) throw invalid('npm rebuilds need a builder image with node and npm (rebuilders.npm.image)');
    const dir = facts.override?.directory === undefined ? undefined : requireRelativePath(facts.override.directory, 'override directory');
    const digest = subj.digest ?? (subj.sha256 ? { sha256: subj.sha256 } : {});
    if (Object.keys(digest).length === 0) throw invalid(`subject ${subj.name} has no digest`);
    const output: PlanOutput = { name: subj.name, path: dir ? `${dir}/${pkg.tarball}` : pkg.tarball, digest: sortKeys(digest) };
    if (subj.sha256) output.sha256 = subj.sha256;
    const env = sortKeys({
      // npm needs a writable home and cache; both live in the build tree, never on the host.
      HOME: '/tmp/home',
      NPM_CONFIG_CACHE: '/tmp/npm-cache',
      NPM_CONFIG_UPDATE_NOTIFIER: 'false',
      ...(facts.override?.env ?? {}),
      ...baseEnv(facts.commitTime),
    });
    const fetch: BuildStep[] = [{ name: 'npm ci', run: inDir(dir, ['npm', 'ci', '--ignore-scripts', '--no-audit', '--no-fund']) }];
    const build: BuildStep[] = facts.override?.command
      ? [{ name: 'build', run: inDir(dir, facts.override.command) }]
      : [
          // Printed so the verdict can say when the image's tools differ from upstream's.
          { name: 'tool versions', run: ['sh', '-c', `echo "${TOOLS_MARKER} node=$(node --version) npm=$(npm --version)"`] },
          { name: 'build script', run: inDir(dir, ['npm', 'run', '--if-present', 'build']) },
          { name: 'npm pack', run: inDir(dir, ['npm', 'pack', '--offline']) },
        ];
    const notes = versionNotes(facts);
    return {
      planVersion: 1,
      rebuilder: 'npm',
      source: source(vc),
      image: facts.builderImage,
      workdir: DEFAULT_BUILD_PATH,
      hostname: DEFAULT_HOSTNAME,
      env,
      fetch,
      pinned: [],
      build,
      outputs: [output],
      limits: facts.limits,
      runtimeEnv: [NPM_REGISTRY_ENV],
      ...(notes.length ? { notes } : {}),
    };
  },
};
