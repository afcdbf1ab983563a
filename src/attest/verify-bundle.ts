import { createHash } from 'node:crypto';
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import { ReprodError } from '../errors.ts';
import { trustSchema } from '../config/trust.ts';
import { keyIdOf, parsePublicKey } from '../publish/keys.ts';
import { isRecord, parseJsonLimited } from './limits.ts';
import type { TrustMaterial } from './trust-material.ts';
import type { Signer } from './types.ts';
import { verifyBundleSigner } from './verify.ts';

/**
 * One bundle, one expected signer, optionally one artifact: the check
 * `reprod verify-bundle` makes, following Sigstore's conformance protocol.
 * A message signature is checked against the artifact's bytes; a DSSE
 * statement must name the artifact's sha256 among its subjects.
 */

export interface VerifyBundleInput {
  bundleText: string;
  artifact?: Buffer;
  /** Keyless: exact certificate identity (SAN) and OIDC issuer. */
  identity?: string;
  issuer?: string;
  /** Keyed: a PEM public key. */
  keyPem?: string;
  trustedRoot: TrustedRoot;
}

export function parseBundleText(text: string): Bundle {
  const json = parseJsonLimited(text, 'bundle');
  if (!isRecord(json)) throw new ReprodError('ATTESTATION_MALFORMED', 'bundle is not a JSON object');
  try {
    return bundleFromJSON(json);
  } catch (e) {
    throw new ReprodError('ATTESTATION_MALFORMED', `invalid Sigstore bundle: ${(e as Error).message}`, { cause: e });
  }
}

function subjectDigests(payload: Buffer): string[] {
  const st = parseJsonLimited(payload.toString('utf8'), 'statement');
  const subjects = isRecord(st) && Array.isArray(st.subject) ? st.subject : [];
  return subjects.map((s) => (isRecord(s) && isRecord(s.digest) && typeof s.digest.sha256 === 'string' ? s.digest.sha256.toLowerCase() : ''));
}

export function verifyOneBundle(input: VerifyBundleInput): Signer {
  const bundle = parseBundleText(input.bundleText);
  const keys = input.keyPem ? [(() => { const k = parsePublicKey(input.keyPem!, 'key'); return { id: keyIdOf(k), keyId: keyIdOf(k), publicKey: k }; })()] : [];
  if (!input.keyPem && (!input.identity || !input.issuer)) throw new ReprodError('USAGE', 'give --identity and --issuer, or --key');
  const policy = trustSchema.parse({
    identities: input.keyPem ? [] : [{ identity: input.identity, issuer: input.issuer }],
  });
  const trust: TrustMaterial = { policy, keys, trustedRoot: () => input.trustedRoot };
  const isDsse = bundle.content.$case === 'dsseEnvelope';
  if (!isDsse && !input.artifact) throw new ReprodError('USAGE', 'a message-signature bundle needs --artifact');
  const signer = verifyBundleSigner(bundle, trust, isDsse ? undefined : input.artifact, { keyedWithRoot: true });
  if (bundle.content.$case === 'dsseEnvelope' && input.artifact) {
    const want = createHash('sha256').update(input.artifact).digest('hex');
    if (!subjectDigests(bundle.content.dsseEnvelope.payload).includes(want)) {
      throw new ReprodError('SUBJECT_MISMATCH', `the artifact (sha256 ${want}) is not a subject of the statement`);
    }
  }
  return signer;
}
