/**
 * Values that leave intake: an attestation, once parsed and verified, becomes a
 * `VerifiedClaim`. Everything downstream (plan, publish) reads only these.
 */

/** How the claim arrived: a signed envelope, or a Debian document (a .buildinfo; an archive request checked against the signed indices). */
export type EnvelopeFormat = 'sigstore-bundle' | 'dsse' | 'intoto-jsonl' | 'npm-attestations' | 'debian-buildinfo' | 'debian-archive';

export interface Subject {
  name: string;
  /**
   * Lower-case hex sha256 of the artifact; '' when the statement gives no sha256
   * (npm's subjects carry only sha512: see `digest`).
   */
  sha256: string;
  /** Every digest the statement gives, algorithm -> lower-case hex (set by intake). */
  digest?: Record<string, string>;
}

export interface ResourceRef {
  uri?: string;
  name?: string;
  digest: Record<string, string>;
}

/**
 * What a statement is: build provenance (rebuildable) or a verification summary
 * (someone else's verdict: never rebuilt, refused with UNSUPPORTED_PREDICATE).
 */
export type ClaimKind = 'provenance' | 'vsa';

/** The facts of a SLSA verification_summary/v1 predicate. */
export interface VsaFacts {
  verifierId: string;
  verificationResult: string;
  timeVerified?: string;
  resourceUri?: string;
  verifiedLevels: string[];
  policyUri?: string;
}

/** One provenance statement, normalised across in-toto v0.1/v1 and SLSA v0.2/v1. */
export interface Claim {
  /** Set by intake; absent means provenance (values built by hand in tests). */
  kind?: ClaimKind;
  /** Set when kind is 'vsa'. For a VSA, builderId is the verifier id and buildType is ''. */
  vsa?: VsaFacts;
  statementType: string;
  predicateType: string;
  subjects: Subject[];
  buildType: string;
  builderId: string;
  /** The source the artifact claims to come from. */
  source?: { uri: string; commit?: string; ref?: string };
  externalParameters: Record<string, unknown>;
  internalParameters?: Record<string, unknown>;
  resolvedDependencies: ResourceRef[];
  startedOn?: string;
  finishedOn?: string;
}

/** Who signed an attestation, as established by verification. */
export type Signer =
  | { $case: 'key'; keyId: string }
  | { $case: 'identity'; identity: string; issuer: string }
  | { $case: 'unverified' };

export interface VerifiedClaim {
  claim: Claim;
  signer: Signer;
  attestation: {
    format: EnvelopeFormat;
    /** sha256 of the attestation's bytes as received (goes into the VSA's inputAttestations). */
    sha256: string;
    /** Where it came from (a path or URL), for reports. */
    uri?: string;
  };
}
