import { verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier, type KeyFinderFunc } from '@sigstore/verify';
import { ReprodError } from '../errors.ts';
import type { Dsse, SignedEnvelope } from './envelope.ts';
import type { TrustedKey, TrustMaterial } from './trust-material.ts';
import type { Signer } from './types.ts';

/**
 * Signature verification, offline: keyed DSSE (PAE, node:crypto), keyed and
 * keyless Sigstore bundles (@sigstore/verify against a pinned trusted root),
 * then the identity policy. Nothing here fetches anything.
 */

const EMPTY_ROOT = TrustedRoot.fromJSON({
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
});

/** DSSE pre-authentication encoding (DSSE v1). */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

/** Verifies one raw signature with a key, whatever its algorithm. */
export function verifyRaw(key: KeyObject, data: Buffer, sig: Buffer): boolean {
  try {
    const type = key.asymmetricKeyType;
    if (type === 'ed25519' || type === 'ed448') return cryptoVerify(null, data, key, sig);
    if (type === 'ec') {
      // DSSE producers use DER (most) or raw r||s (IEEE P1363).
      if (cryptoVerify('sha256', data, key, sig)) return true;
      const curve = key.asymmetricKeyDetails?.namedCurve;
      const hash = curve === 'secp384r1' ? 'sha384' : curve === 'secp521r1' ? 'sha512' : 'sha256';
      return cryptoVerify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, sig) || cryptoVerify(hash, data, key, sig);
    }
    return cryptoVerify('sha256', data, key, sig);
  } catch {
    return false;
  }
}

/** The trusted keys a DSSE keyid or bundle hint may name; any key when it names none we know. */
function candidates(keys: TrustedKey[], hint: string): TrustedKey[] {
  const n = named(keys, hint);
  return n.length > 0 ? n : keys;
}

function named(keys: TrustedKey[], hint: string): TrustedKey[] {
  return keys.filter((k) => hint !== '' && (k.id === hint || k.keyId === hint));
}

/**
 * A signature whose key id names a trusted key but does not verify is
 * SIGNATURE_INVALID (tampered); one no trusted key verifies is UNTRUSTED_SIGNER.
 */
function verifyDsse(dsse: Dsse, keys: TrustedKey[]): Signer {
  if (keys.length === 0) throw new ReprodError('UNTRUSTED_SIGNER', 'a bare DSSE envelope can only be verified with a trusted key, and trust.keys is empty');
  const data = pae(dsse.payloadType, dsse.payload);
  let namedFailed = false;
  for (const s of dsse.signatures) {
    for (const k of candidates(keys, s.keyid)) if (verifyRaw(k.publicKey, data, s.sig)) return { $case: 'key', keyId: k.id };
    if (named(keys, s.keyid).length > 0) namedFailed = true;
  }
  if (namedFailed) throw new ReprodError('SIGNATURE_INVALID', 'the DSSE signature by a trusted key does not match the payload (tampered?)');
  throw new ReprodError('UNTRUSTED_SIGNER', 'no signature of the DSSE envelope verifies with a trusted key', {
    details: { keyids: dsse.signatures.map((s) => s.keyid) },
  });
}

function sigstoreError(e: unknown): ReprodError {
  if (e instanceof ReprodError) return e;
  const code = (e as { code?: string }).code;
  const untrusted = code === 'UNTRUSTED_SIGNER_ERROR' || (e as Error).name === 'PolicyError';
  return new ReprodError(untrusted ? 'UNTRUSTED_SIGNER' : 'SIGNATURE_INVALID', `bundle does not verify: ${(e as Error).message}`, {
    cause: e,
    details: { sigstoreCode: code },
  });
}

/**
 * A keyed bundle from reprod or an in-house signer has no log entry: the key is
 * the trust. When `root` is given (verify-bundle, a managed key logged in
 * Rekor), its log entries and timestamps must verify against that root too.
 */
function verifyKeyedBundle(bundle: Bundle, hint: string, keys: TrustedKey[], root?: TrustedRoot, artifact?: Buffer): Signer {
  if (keys.length === 0) throw new ReprodError('UNTRUSTED_SIGNER', `bundle is signed with key ${JSON.stringify(hint)} and trust.keys is empty`);
  let last: unknown;
  for (const k of candidates(keys, hint)) {
    const finder: KeyFinderFunc = () => ({ publicKey: k.publicKey, validFor: () => true });
    try {
      const logged = bundle.verificationMaterial.tlogEntries.length > 0 || (bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps.length ?? 0) > 0;
      const options = root && logged ? { ctlogThreshold: 0 } : { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 };
      new Verifier(toTrustMaterial(root && logged ? root : EMPTY_ROOT, finder), options).verify(toSignedEntity(bundle, artifact));
      return { $case: 'key', keyId: k.id };
    } catch (e) {
      last = e;
    }
  }
  const err = sigstoreError(last);
  if (named(keys, hint).length > 0) throw new ReprodError('SIGNATURE_INVALID', `the bundle's signature by trusted key ${JSON.stringify(hint)} does not verify (tampered?): ${err.message}`, { cause: last });
  throw new ReprodError('UNTRUSTED_SIGNER', `no trusted key verifies the bundle (hint ${JSON.stringify(hint)}): ${err.message}`, { cause: last });
}

/** Whole-string match of a SAN against a pattern from the policy. */
function matches(pattern: string, value: string): boolean {
  try {
    return new RegExp(`^(?:${pattern})$`).test(value);
  } catch {
    throw new ReprodError('CONFIG_INVALID', `trust.identities: identityPattern ${JSON.stringify(pattern)} is not a valid regular expression`);
  }
}

function verifyKeylessBundle(bundle: Bundle, trust: TrustMaterial, artifact?: Buffer): Signer {
  let found: { san: string; issuer: string };
  try {
    const entity = toSignedEntity(bundle, artifact);
    const signer = new Verifier(toTrustMaterial(trust.trustedRoot()), { tlogThreshold: trust.policy.tlogThreshold }).verify(entity);
    found = { san: signer.identity?.subjectAlternativeName ?? '', issuer: signer.identity?.extensions?.issuer ?? '' };
  } catch (e) {
    throw sigstoreError(e);
  }
  const ok = trust.policy.identities.some(
    (i) => i.issuer === found.issuer && (i.identity !== undefined ? i.identity === found.san : matches(i.identityPattern!, found.san)),
  );
  if (!ok) {
    throw new ReprodError('UNTRUSTED_SIGNER', `certificate identity ${JSON.stringify(found.san)} from issuer ${JSON.stringify(found.issuer)} is not in trust.identities`, {
      details: found,
    });
  }
  return { $case: 'identity', identity: found.san, issuer: found.issuer };
}

/** Verifies a bundle's signature (message or DSSE) and the signer against the policy. */
export function verifyBundleSigner(bundle: Bundle, trust: TrustMaterial, artifact?: Buffer, opts: { keyedWithRoot?: boolean } = {}): Signer {
  const content = bundle.verificationMaterial.content;
  if (content.$case === 'publicKey') return verifyKeyedBundle(bundle, content.publicKey.hint, trust.keys, opts.keyedWithRoot ? trust.trustedRoot() : undefined, artifact);
  return verifyKeylessBundle(bundle, trust, artifact);
}

/** Establishes who signed an envelope; throws UNTRUSTED_SIGNER / SIGNATURE_INVALID unless unverified input is allowed. */
export function verifyEnvelope(env: SignedEnvelope, trust: TrustMaterial): Signer {
  try {
    if (env.$case === 'dsse') return verifyDsse(env.dsse, trust.keys);
    return verifyBundleSigner(env.bundle, trust);
  } catch (e) {
    if (trust.policy.allowUnverified && e instanceof ReprodError && (e.code === 'UNTRUSTED_SIGNER' || e.code === 'SIGNATURE_INVALID')) {
      return { $case: 'unverified' };
    }
    throw e;
  }
}
