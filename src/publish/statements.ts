import type { Subject } from '../attest/types.ts';
import type { BuildResult } from '../build/types.ts';
import type { Outcome } from '../compare/types.ts';
import type { BuildPlan } from '../plan/types.ts';

/**
 * The two statements reprod signs for every subject of a finished job
 * (DESIGN.md section 7). Pure functions: same input, same JSON, so they are
 * tested against golden files.
 */

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const VSA_PREDICATE_TYPE = 'https://slsa.dev/verification_summary/v1';
export const PROVENANCE_PREDICATE_TYPE = 'https://slsa.dev/provenance/v1';
export const REBUILD_BUILD_TYPE = 'https://reprod.dev/buildtypes/rebuild/v1';
export const SLSA_VERSION = '1.0';
/**
 * The level a consumer's `reprod verify` looks for: an independent rebuild gave
 * the same bytes. Emitted only for `reproduced`, alongside the build-track level.
 * Note: the VSA spec says custom values MUST NOT start with `SLSA_`; this name
 * was chosen by the project brief and is kept in this one constant so it can
 * be renamed (producer and consumer both read it from here).
 */
export const REPRODUCED_LEVEL = 'SLSA_BUILD_REPRODUCED';
export const FAILED_LEVEL = 'FAILED';

export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest: Record<string, string>;
}

export interface Statement<P = unknown> {
  _type: typeof STATEMENT_TYPE;
  subject: ResourceDescriptor[];
  predicateType: string;
  predicate: P;
}

/** One classified cause of a mismatch, as the compare stage summarises it. */
export interface CauseSummary {
  /** e.g. `embedded-timestamp`, `member-order`, `mtime`. */
  kind: string;
  /** Where it was seen (archive member path, byte offset …). */
  where?: string;
  summary: string;
}

export interface VsaInput {
  /** This rebuilder's id (`signing.verifierId`). */
  verifierId: string;
  /** Versions of the verifier's parts, e.g. `{ reprod: "0.1.0" }`. */
  verifierVersion?: Record<string, string>;
  /** RFC 3339 time of the verdict. */
  timeVerified: string;
  subject: Subject;
  /** Where the artifact lives (package URL, download URL); defaults to the subject name. */
  resourceUri?: string;
  /** The policy the verifier applied. */
  policy: { uri?: string; digest?: Record<string, string> };
  /** The upstream attestation that was rebuilt. */
  inputAttestation: { uri?: string; sha256: string };
  outcome: Outcome;
  rebuiltSha256?: string;
  /** SLSA build level the upstream provenance was verified at (0–3); 0 when unknown. */
  buildLevel?: 0 | 1 | 2 | 3;
  /** Classified causes, on `not-reproduced`. */
  causes?: CauseSummary[];
  /** Set when outcome is `error`. */
  error?: { code: string; message: string };
  /** Optional normalised verdict reported beside the strict one (never instead of it). */
  normalized?: { outcome: 'reproduced-after-normalization' | 'not-reproduced'; passes: string[] };
  jobId?: string;
  /** Digest of the diff report, on mismatch. */
  reportSha256?: string;
}

/** reprod's own fields inside the VSA predicate; consumers that don't know them ignore them. */
export interface ReprodVsaFields {
  outcome: Outcome;
  expectedSha256: string;
  rebuiltSha256?: string;
  causes?: CauseSummary[];
  error?: { code: string; message: string };
  normalized?: VsaInput['normalized'];
  jobId?: string;
  reportSha256?: string;
}

export interface VsaPredicate {
  verifier: { id: string; version?: Record<string, string> };
  timeVerified: string;
  resourceUri: string;
  policy: { uri?: string; digest?: Record<string, string> };
  inputAttestations: ResourceDescriptor[];
  verificationResult: 'PASSED' | 'FAILED';
  verifiedLevels: string[];
  slsaVersion: string;
  reprod: ReprodVsaFields;
}

function sha256Digest(hex: string): Record<string, string> {
  return { sha256: hex };
}

/** Drops keys whose value is undefined so the JSON (and its golden file) is stable. */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * The SLSA Verification Summary for one subject. PASSED only for `reproduced`;
 * `not-reproduced` and `error` are FAILED (the reprod fields tell them apart).
 */
export function vsaStatement(input: VsaInput): Statement<VsaPredicate> {
  const passed = input.outcome === 'reproduced';
  const verifiedLevels = passed ? [`SLSA_BUILD_LEVEL_${input.buildLevel ?? 0}`, REPRODUCED_LEVEL] : [FAILED_LEVEL];
  const reprod = compact<ReprodVsaFields>({
    outcome: input.outcome,
    expectedSha256: input.subject.sha256,
    rebuiltSha256: input.rebuiltSha256,
    causes: input.outcome === 'not-reproduced' ? (input.causes ?? []) : undefined,
    error: input.outcome === 'error' ? input.error : undefined,
    normalized: input.normalized,
    jobId: input.jobId,
    reportSha256: input.reportSha256,
  });
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: input.subject.name, digest: sha256Digest(input.subject.sha256) }],
    predicateType: VSA_PREDICATE_TYPE,
    predicate: {
      verifier: compact({ id: input.verifierId, version: input.verifierVersion }),
      timeVerified: input.timeVerified,
      resourceUri: input.resourceUri ?? input.subject.name,
      policy: compact({ uri: input.policy.uri, digest: input.policy.digest }),
      inputAttestations: [compact({ uri: input.inputAttestation.uri, digest: sha256Digest(input.inputAttestation.sha256) })],
      verificationResult: passed ? 'PASSED' : 'FAILED',
      verifiedLevels,
      slsaVersion: SLSA_VERSION,
      reprod,
    },
  };
}

export interface ProvenanceInput {
  /** This rebuilder's id (`signing.verifierId`): the builder of the rebuild. */
  builderId: string;
  builderVersion?: Record<string, string>;
  jobId: string;
  plan: BuildPlan;
  /** The subject this statement is about, and what the rebuild produced for it. */
  subject: Subject;
  rebuiltSha256?: string;
  outcome: Outcome;
  /** The upstream attestation that asked for the rebuild. */
  upstream: { uri?: string; sha256: string };
  /** The build, when it ran; its timings and log digest become run details. */
  result?: Pick<BuildResult, 'startedAt' | 'finishedAt' | 'logSha256' | 'imageId'>;
  /** Times of the whole job when there is no build result (e.g. an early error). */
  startedOn?: string;
  finishedOn?: string;
  /** Digest of the diff report, when one was written. */
  reportSha256?: string;
}

/** Image digests are `sha256:<hex>`; resource descriptors want `{sha256: hex}`. */
function imageDigest(digest: string): Record<string, string> {
  const i = digest.indexOf(':');
  return i > 0 ? { [digest.slice(0, i)]: digest.slice(i + 1) } : { sha256: digest };
}

export interface ProvenancePredicate {
  buildDefinition: {
    buildType: typeof REBUILD_BUILD_TYPE;
    externalParameters: { plan: BuildPlan; upstreamAttestation: ResourceDescriptor };
    internalParameters: { outcome: Outcome; expectedSha256: string };
    resolvedDependencies: ResourceDescriptor[];
  };
  runDetails: {
    builder: { id: string; version?: Record<string, string> };
    metadata: { invocationId: string; startedOn?: string; finishedOn?: string };
    byproducts: ResourceDescriptor[];
  };
}

/**
 * SLSA provenance v1 of the rebuild itself. The subject is what the rebuild
 * produced (the rebuilt digest); when nothing was produced (outcome `error`)
 * it names the upstream digest the job was about, and the outcome says why.
 * The whole BuildPlan is in externalParameters so anyone can re-run it.
 */
export function rebuildProvenance(input: ProvenanceInput): Statement<ProvenancePredicate> {
  const { plan } = input;
  const byproducts: ResourceDescriptor[] = [];
  if (input.result?.logSha256) byproducts.push({ name: 'build.log', digest: sha256Digest(input.result.logSha256) });
  if (input.reportSha256) byproducts.push({ name: 'report.json', digest: sha256Digest(input.reportSha256) });
  // A Debian source package is named `deb-src:NAME=VERSION` and pinned by its .dsc's sha256.
  const source: ResourceDescriptor = plan.source.repo.startsWith('deb-src:')
    ? { uri: plan.source.repo, digest: { sha256: plan.source.commit } }
    : { uri: gitUri(plan.source.repo), digest: { gitCommit: plan.source.commit } };
  const image: ResourceDescriptor = { uri: plan.image.ref, digest: imageDigest(input.result?.imageId ?? plan.image.digest) };
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: input.subject.name, digest: sha256Digest(input.rebuiltSha256 ?? input.subject.sha256) }],
    predicateType: PROVENANCE_PREDICATE_TYPE,
    predicate: {
      buildDefinition: {
        buildType: REBUILD_BUILD_TYPE,
        externalParameters: {
          plan,
          upstreamAttestation: compact({ uri: input.upstream.uri, digest: sha256Digest(input.upstream.sha256) }),
        },
        internalParameters: compact({ outcome: input.outcome, expectedSha256: input.subject.sha256 }),
        resolvedDependencies: [source, image],
      },
      runDetails: {
        builder: compact({ id: input.builderId, version: input.builderVersion }),
        metadata: compact({
          invocationId: input.jobId,
          startedOn: input.result?.startedAt ?? input.startedOn,
          finishedOn: input.result?.finishedAt ?? input.finishedOn,
        }),
        byproducts,
      },
    },
  };
}

/** in-toto convention: git sources are `git+<url>`. */
function gitUri(repo: string): string {
  return repo.startsWith('git+') ? repo : `git+${repo}`;
}
