/**
 * The claim a Debian input becomes (a `.buildinfo`, or a source package named
 * against the archive's signed indices): plain data the `debian` rebuilder plans
 * from. Pure.
 */
import type { Signer, Subject, VerifiedClaim } from '../../attest/types.ts';

export const DEBIAN_BUILD_TYPE = 'https://reprod.dev/buildtypes/debian/v1';

/** One `Installed-Build-Depends` entry: `name (= version)`, optionally `name:arch`. */
export interface PinnedPackage {
  name: string;
  version: string;
  arch?: string;
}

/** What a `.buildinfo` adds to a source package name and version. */
export interface BuildinfoFacts {
  /** `Build-Path`: the folder the vendor unpacked the source in. */
  buildPath?: string;
  /** `Environment`: the variables dpkg-buildpackage recorded (values unquoted). */
  environment: Record<string, string>;
  installedBuildDepends: PinnedPackage[];
  /** `Build-Date` as written (RFC 2822). */
  buildDate?: string;
  /** `Build-Architecture`. */
  buildArchitecture?: string;
  /** `Architecture` as listed (e.g. `all amd64`): which dpkg-buildpackage build to run. */
  architectures: string[];
  /** The binary version when it differs from the source's (binNMU: `Source: x (1.0-1)`, `Version: 1.0-1+b1`). */
  binaryVersion?: string;
}

export interface DebianParameters {
  source: string;
  /** Source version (with epoch, if any). */
  version: string;
  architecture: string;
  /** Suite the source was taken from, when known (index claims). */
  suite?: string;
  buildinfo?: BuildinfoFacts;
  /** Archive claims: the source package's files pinned by the signed Sources index (the .dsc first). */
  sourceFiles?: Array<{ name: string; size?: number; sha256: string }>;
  /** Archive claims: the folder below the mirror holding them (pool/main/h/hello). */
  directory?: string;
  /** Archive claims: the mirror they were read from. */
  mirror?: string;
}

export interface DebianClaimInput {
  params: DebianParameters;
  debs: Array<{ name: string; sha256: string }>;
  signer: Signer;
  /** `debian:buildinfo` or `debian:archive`. */
  builderId: string;
  attestation: VerifiedClaim['attestation'];
}

export function debianClaim(input: DebianClaimInput): VerifiedClaim {
  const subjects: Subject[] = input.debs.map((d) => ({ name: d.name, sha256: d.sha256, digest: { sha256: d.sha256 } }));
  const { params } = input;
  return {
    claim: {
      kind: 'provenance',
      statementType: 'debian',
      predicateType: input.builderId,
      subjects,
      buildType: DEBIAN_BUILD_TYPE,
      builderId: input.builderId,
      source: { uri: `deb-src:${params.source}=${params.version}` },
      externalParameters: JSON.parse(JSON.stringify(params)) as Record<string, unknown>,
      // The build dependencies are versions, not digests: they stay in externalParameters.
      resolvedDependencies: [],
      ...(params.buildinfo?.buildDate ? { finishedOn: params.buildinfo.buildDate } : {}),
    },
    signer: input.signer,
    attestation: input.attestation,
  };
}

/** Reads the parameters back from a claim (the rebuilder's view). */
export function debianParameters(vc: VerifiedClaim): DebianParameters {
  return vc.claim.externalParameters as unknown as DebianParameters;
}

/** `1:2.10-3` → `2.10-3` (file names in the pool carry no epoch). */
export function withoutEpoch(version: string): string {
  const colon = version.indexOf(':');
  return colon < 0 ? version : version.slice(colon + 1);
}

/** `1:2.10-3` → `2.10` (the upstream part; the whole version for a native package). */
export function upstreamVersion(version: string): string {
  const v = withoutEpoch(version);
  const dash = v.lastIndexOf('-');
  return dash < 0 ? v : v.slice(0, dash);
}
