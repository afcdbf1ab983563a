import { ReprodError } from '../errors.ts';
import type { TrustPolicy } from '../config/trust.ts';
import type { Claim } from './types.ts';

/**
 * The claim-level rules of the trust policy, after the signature: which
 * builders reprod believes, and (when an artifact is given) that the artifact
 * is one of the statement's subjects.
 */

/** `/regex/` is a whole-string pattern; anything else must match exactly. */
export function builderAllowed(builders: string[], id: string): boolean {
  if (builders.length === 0) return true;
  return builders.some((b) => {
    if (b.length > 2 && b.startsWith('/') && b.endsWith('/')) {
      try {
        return new RegExp(`^(?:${b.slice(1, -1)})$`).test(id);
      } catch {
        throw new ReprodError('CONFIG_INVALID', `trust.builders: ${b} is not a valid regular expression`);
      }
    }
    return b === id;
  });
}

export function checkClaimPolicy(claim: Claim, policy: TrustPolicy): void {
  if (claim.kind !== 'vsa' && !builderAllowed(policy.builders, claim.builderId)) {
    throw new ReprodError('POLICY_DENIED', `builder ${JSON.stringify(claim.builderId)} is not in trust.builders`, {
      details: { builderId: claim.builderId },
    });
  }
}

export function checkSubject(claim: Claim, artifactSha256: string): void {
  const want = artifactSha256.toLowerCase();
  if (!claim.subjects.some((s) => s.sha256 === want)) {
    throw new ReprodError('SUBJECT_MISMATCH', `the artifact (sha256 ${want}) is not a subject of the statement`, {
      details: { artifactSha256: want, subjects: claim.subjects.map((s) => s.sha256) },
    });
  }
}
