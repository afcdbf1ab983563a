/**
 * Values that leave intake: an attestation, once parsed and verified, becomes a
 * `VerifiedClaim`. Everything downstream (plan, publish) reads only these.
 */

export type EnvelopeFormat = 'sigstore-bundle' | 'dsse' | 'intoto-jsonl' | 'npm-attestations';

export interface Subject {
  name: string;
  /** Lower-case hex sha256 of the artifact. */
  sha256: string;
}

export interface ResourceRef {
  uri?: string;
  name?: string;
  digest: Record<string, string>;
}

/** One provenance statement, normalised across in-toto v0.1/v1 and SLSA v0.2/v1. */
export interface Claim {
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
