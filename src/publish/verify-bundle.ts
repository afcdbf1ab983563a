import { bundleFromJSON, isBundleWithDsseEnvelope, type Bundle } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier, type KeyFinderFunc, type TrustMaterial } from '@sigstore/verify';
import type { KeyObject } from 'node:crypto';
import { ReprodError } from '../errors.ts';
import { INTOTO_PAYLOAD_TYPE } from './sign.ts';
import type { Statement } from './statements.ts';

/**
 * Offline verification of reprod's own output bundles, for consumers
 * (`reprod verify`) and tests. Trust material is handed in; nothing is fetched.
 */

/** Who a bundle must be signed by. */
export type ExpectedSigner =
  | { $case: 'key'; keyId: string; publicKey: KeyObject }
  | { $case: 'identity'; identity: string; issuer: string; trustedRoot: TrustedRoot };

const EMPTY_ROOT = TrustedRoot.fromJSON({
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
});

/** Parses bundle JSON; anything that is not a DSSE Sigstore bundle is ATTESTATION_MALFORMED. */
export function parseDsseBundle(json: unknown): Bundle {
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (e) {
    throw new ReprodError('ATTESTATION_MALFORMED', `not a Sigstore bundle: ${(e as Error).message}`, { cause: e });
  }
  if (!isBundleWithDsseEnvelope(bundle)) throw new ReprodError('UNSUPPORTED_FORMAT', 'bundle holds a message signature, not a DSSE envelope');
  return bundle;
}

/** How the bundle names its signer, before anything is verified. */
export function bundleKeyHint(bundle: Bundle): { $case: 'key'; hint: string } | { $case: 'certificate' } {
  const content = bundle.verificationMaterial.content;
  if (content.$case === 'publicKey') return { $case: 'key', hint: content.publicKey.hint };
  return { $case: 'certificate' };
}

function keyTrust(expected: { keyId: string; publicKey: KeyObject }): TrustMaterial {
  const finder: KeyFinderFunc = (hint) => {
    if (hint !== expected.keyId) throw new ReprodError('UNTRUSTED_SIGNER', `bundle key hint ${hint} is not key ${expected.keyId}`);
    return { publicKey: expected.publicKey, validFor: () => true };
  };
  return toTrustMaterial(EMPTY_ROOT, finder);
}

/**
 * Verifies the DSSE signature (and, keyless, the certificate chain, SCT,
 * Rekor entry and identity) and returns the signed in-toto statement.
 * Any failure is SIGNATURE_INVALID or UNTRUSTED_SIGNER.
 */
export function verifyStatementBundle(bundle: Bundle, expected: ExpectedSigner): Statement {
  if (!isBundleWithDsseEnvelope(bundle)) throw new ReprodError('UNSUPPORTED_FORMAT', 'bundle holds a message signature, not a DSSE envelope');
  try {
    if (expected.$case === 'key') {
      // A keyed bundle has no log entry or timestamp to check: the key is the trust.
      new Verifier(keyTrust(expected), { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundle));
    } else {
      new Verifier(toTrustMaterial(expected.trustedRoot)).verify(toSignedEntity(bundle), {
        subjectAlternativeName: expected.identity,
        extensions: { issuer: expected.issuer },
      });
    }
  } catch (e) {
    if (e instanceof ReprodError) throw e;
    const code = (e as { code?: string }).code;
    const untrusted = code === 'UNTRUSTED_SIGNER_ERROR' || (e as Error).name === 'PolicyError';
    throw new ReprodError(untrusted ? 'UNTRUSTED_SIGNER' : 'SIGNATURE_INVALID', `bundle does not verify: ${(e as Error).message}`, {
      cause: e,
      details: { sigstoreCode: code },
    });
  }
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== INTOTO_PAYLOAD_TYPE) {
    throw new ReprodError('UNSUPPORTED_FORMAT', `DSSE payload type ${envelope.payloadType} is not ${INTOTO_PAYLOAD_TYPE}`);
  }
  try {
    return JSON.parse(envelope.payload.toString('utf8')) as Statement;
  } catch (e) {
    throw new ReprodError('ATTESTATION_MALFORMED', 'DSSE payload is not JSON', { cause: e });
  }
}

/** Reads a trusted_root.json value (Sigstore TrustedRoot JSON). */
export function parseTrustedRoot(json: unknown): TrustedRoot {
  try {
    const root = TrustedRoot.fromJSON(json);
    if (!root.certificateAuthorities?.length) throw new Error('no certificate authorities');
    return root;
  } catch (e) {
    throw new ReprodError('TRUSTED_ROOT_INVALID', `not a usable trusted root: ${(e as Error).message}`, { cause: e });
  }
}
