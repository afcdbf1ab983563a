import { createHash } from 'node:crypto';
import { ReprodError } from '../errors.ts';
import { INTOTO_PAYLOAD_TYPE, parseAttestation } from './envelope.ts';
import { checkClaimPolicy, checkSubject } from './policy.ts';
import { claimFromPayload } from './statement.ts';
import type { TrustMaterial } from './trust-material.ts';
import type { VerifiedClaim } from './types.ts';
import { verifyEnvelope } from './verify.ts';

/**
 * Intake: attestation bytes in, verified claims out. Format from content,
 * signature against the trust material, then the claim policy. Pure given
 * the trust material (loaded once by loadTrustMaterial).
 */

export interface IntakeOptions {
  /** Where the bytes came from (a path or URL), for reports. */
  uri?: string;
  /** When set, the artifact must be a subject of every statement. */
  artifactSha256?: string;
}

export async function intakeAttestation(bytes: Uint8Array, trust: TrustMaterial, opts: IntakeOptions = {}): Promise<VerifiedClaim[]> {
  const parsed = parseAttestation(bytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return parsed.envelopes.map((env, i) => {
    const dsse = env.$case === 'dsse' ? env.dsse : env.dsse;
    if (!dsse) throw new ReprodError('UNSUPPORTED_FORMAT', `envelope ${i + 1} is a message signature, not an attestation`);
    if (dsse.payloadType !== INTOTO_PAYLOAD_TYPE) {
      throw new ReprodError('UNSUPPORTED_FORMAT', `envelope ${i + 1}: payload type ${JSON.stringify(dsse.payloadType)} is not ${INTOTO_PAYLOAD_TYPE}`);
    }
    // Verify before decoding: nothing unsigned gets further than the envelope.
    const signer = verifyEnvelope(env, trust);
    const claim = claimFromPayload(dsse.payload);
    checkClaimPolicy(claim, trust.policy);
    if (opts.artifactSha256) checkSubject(claim, opts.artifactSha256);
    return { claim, signer, attestation: { format: parsed.format, sha256, ...(opts.uri ? { uri: opts.uri } : {}) } };
  });
}

export { parseAttestation } from './envelope.ts';
export { claimFromStatement, claimFromPayload } from './statement.ts';
export { loadTrustMaterial, publicGoodRoot, type TrustMaterial, type TrustedKey } from './trust-material.ts';
export { verifyEnvelope, verifyBundleSigner, pae } from './verify.ts';
