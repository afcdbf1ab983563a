import type { VerifiedClaim } from '../../src/attest/types.ts';
import { baseEnv, claimSource, invalid, requireCommit, requireEnv, requireRelativePath, sortKeys, splitGitUri, SHA256_HEX } from '../../src/plan/common.ts';
import type { PlanFacts, Rebuilder, SourceRef } from '../../src/plan/rebuilder.ts';
import type { BuildPlan, PlanOutput } from '../../src/plan/types.ts';
import { DEFAULT_HOSTNAME } from '../../src/config/defaults.ts';

/**
 * reprod's own buildType (DESIGN.md section 10): the provenance names the image
 * by digest, the command and the outputs, so no ecosystem knowledge is needed.
 */
export const CONTAINER_BUILD_TYPE = 'https://reprod.dev/buildtypes/container/v1';
/** Default build directory of this buildType (section 10). */
export const CONTAINER_WORKDIR = '/src';

const IMAGE_BY_DIGEST = /^(?:[a-z0-9][a-z0-9._/:-]*@)?sha256:([0-9a-f]{64})$/;
const WORKDIR = /^\/[A-Za-z0-9._/-]*$/;

function params(vc: VerifiedClaim): Record<string, unknown> {
  return vc.claim.externalParameters ?? {};
}

function source(vc: VerifiedClaim): SourceRef {
  const src = params(vc).source;
  if (src !== undefined) {
    if (typeof src !== 'object' || src === null) throw invalid('externalParameters.source: expected {uri, commit}');
    const { uri, commit, ref } = src as Record<string, unknown>;
    if (typeof uri !== 'string' || uri === '') throw invalid('externalParameters.source.uri: expected a git URL');
    const split = splitGitUri(uri);
    const r = typeof ref === 'string' && ref !== '' ? ref : split.ref;
    return { repo: split.repo, commit: requireCommit(commit, 'externalParameters.source.commit'), ...(r ? { ref: r } : {}) };
  }
  const found = claimSource(vc);
  if (!found) throw invalid('the provenance names no source (externalParameters.source)');
  return { ...found, commit: requireCommit(found.commit, 'source commit') };
}

function image(vc: VerifiedClaim): { ref: string; digest: string } {
  const ref = params(vc).image;
  const m = typeof ref === 'string' ? IMAGE_BY_DIGEST.exec(ref) : null;
  if (!m) throw invalid(`externalParameters.image: expected "name@sha256:<64 hex>" or "sha256:<64 hex>", got ${JSON.stringify(ref)}`);
  return { ref: ref as string, digest: `sha256:${m[1]}` };
}

function command(vc: VerifiedClaim, facts: PlanFacts): string[] {
  const cmd = facts.override?.command ?? params(vc).command;
  if (!Array.isArray(cmd) || cmd.length === 0 || !cmd.every((a) => typeof a === 'string')) {
    throw invalid('externalParameters.command: expected a non-empty array of strings');
  }
  return cmd as string[];
}

function outputs(vc: VerifiedClaim): PlanOutput[] {
  const map = params(vc).outputs;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw invalid('externalParameters.outputs: expected {subject name: path}');
  const paths = map as Record<string, unknown>;
  if (vc.claim.subjects.length === 0) throw invalid('the provenance has no subjects');
  return vc.claim.subjects.map((s) => {
    if (!(s.name in paths)) throw invalid(`subject ${JSON.stringify(s.name)} has no entry in externalParameters.outputs`);
    if (!SHA256_HEX.test(s.sha256)) throw invalid(`subject ${JSON.stringify(s.name)} has no sha256 digest`);
    return { name: s.name, path: requireRelativePath(paths[s.name], `externalParameters.outputs.${s.name}`), sha256: s.sha256 };
  });
}

function sourceDateEpoch(vc: VerifiedClaim, facts: PlanFacts): number {
  const v = params(vc).sourceDateEpoch;
  if (v === undefined) return facts.commitTime;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw invalid('externalParameters.sourceDateEpoch: expected seconds since 1970');
  return v;
}

export const container: Rebuilder = {
  name: 'container',
  buildTypes: [CONTAINER_BUILD_TYPE],
  source,
  overrideKey: (vc) => (vc.claim.subjects[0] ? [vc.claim.subjects[0].name.split('/').pop()!] : []),
  plan(vc: VerifiedClaim, facts: PlanFacts): BuildPlan {
    const p = params(vc);
    const workdir = p.workdir ?? CONTAINER_WORKDIR;
    if (typeof workdir !== 'string' || !WORKDIR.test(workdir) || workdir.split('/').includes('..') || workdir === '/') {
      throw invalid(`externalParameters.workdir: expected an absolute path below /, got ${JSON.stringify(workdir)}`);
    }
    // The fixed variables win over the claim's env: they are what makes the build hermetic.
    const env = sortKeys({ ...requireEnv(p.env, 'externalParameters.env'), ...(facts.override?.env ?? {}), ...baseEnv(sourceDateEpoch(vc, facts)) });
    return {
      planVersion: 1,
      rebuilder: 'container',
      source: source(vc),
      image: image(vc),
      workdir,
      hostname: DEFAULT_HOSTNAME,
      env,
      fetch: [],
      pinned: [],
      build: [{ name: 'build', run: command(vc, facts) }],
      outputs: outputs(vc),
      limits: facts.limits,
      ...(facts.override ? { notes: [`override applied: ${facts.override.why}`] } : {}),
    };
  },
};
