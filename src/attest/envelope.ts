import {
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  bundleFromJSON,
  type Bundle,
} from '@sigstore/bundle';
import { ReprodError } from '../errors.ts';
import type { EnvelopeFormat } from './types.ts';
import {
  MAX_ATTESTATION_BYTES,
  MAX_JSONL_LINES,
  MAX_NPM_ATTESTATIONS,
  MAX_PAYLOAD_BYTES,
  checkSize,
  isRecord,
  parseJsonLimited,
} from './limits.ts';

/**
 * Turns attestation bytes into signed envelopes. The format is told from the
 * content (mediaType, DSSE fields, the npm wrapper, line structure), never from
 * a file name: `.intoto.jsonl` files in the wild are often a single bundle.
 */

export const BUNDLE_MEDIA_TYPES: readonly string[] = [
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
];

export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** A DSSE envelope with its fields decoded. */
export interface Dsse {
  payloadType: string;
  payload: Buffer;
  signatures: { keyid: string; sig: Buffer }[];
}

export type SignedEnvelope =
  /** A Sigstore bundle; `dsse` is set when it holds a DSSE envelope (not a message signature). */
  | { $case: 'bundle'; bundle: Bundle; dsse?: Dsse }
  | { $case: 'dsse'; dsse: Dsse };

export interface ParsedAttestation {
  format: EnvelopeFormat;
  envelopes: SignedEnvelope[];
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function decodeBase64(s: unknown, what: string): Buffer {
  if (typeof s !== 'string' || !BASE64.test(s)) throw new ReprodError('ATTESTATION_MALFORMED', `${what} is not base64`);
  return Buffer.from(s, s.includes('-') || s.includes('_') ? 'base64url' : 'base64');
}

export function isDsseJson(v: unknown): v is Record<string, unknown> {
  return isRecord(v) && 'payloadType' in v && 'payload' in v && 'signatures' in v;
}

export function isBundleJson(v: unknown): v is Record<string, unknown> {
  return isRecord(v) && typeof v.mediaType === 'string' && v.mediaType.startsWith('application/vnd.dev.sigstore.bundle');
}

/** Decodes a bare DSSE envelope `{payloadType, payload, signatures}`. */
export function dsseFromJson(v: Record<string, unknown>): Dsse {
  if (typeof v.payloadType !== 'string') throw new ReprodError('ATTESTATION_MALFORMED', 'DSSE payloadType is not a string');
  if (typeof v.payload === 'string') checkSize(Math.floor((v.payload.length * 3) / 4), MAX_PAYLOAD_BYTES, 'DSSE payload');
  const payload = decodeBase64(v.payload, 'DSSE payload');
  if (!Array.isArray(v.signatures) || v.signatures.length === 0) {
    throw new ReprodError('ATTESTATION_MALFORMED', 'DSSE envelope has no signatures');
  }
  const signatures = v.signatures.map((s, i) => {
    if (!isRecord(s)) throw new ReprodError('ATTESTATION_MALFORMED', `DSSE signature ${i} is not an object`);
    const keyid = s.keyid === undefined ? '' : s.keyid;
    if (typeof keyid !== 'string') throw new ReprodError('ATTESTATION_MALFORMED', `DSSE signature ${i} keyid is not a string`);
    return { keyid, sig: decodeBase64(s.sig, `DSSE signature ${i}`) };
  });
  return { payloadType: v.payloadType, payload, signatures };
}

/** Validates a Sigstore bundle JSON value with @sigstore/bundle. */
export function bundleFromJsonValue(v: Record<string, unknown>): SignedEnvelope {
  if (!BUNDLE_MEDIA_TYPES.includes(v.mediaType as string)) {
    throw new ReprodError('UNSUPPORTED_FORMAT', `unknown Sigstore bundle media type ${JSON.stringify(v.mediaType)}`);
  }
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(v);
  } catch (e) {
    throw new ReprodError('ATTESTATION_MALFORMED', `invalid Sigstore bundle: ${(e as Error).message}`, { cause: e });
  }
  if (bundle.content.$case !== 'dsseEnvelope') return { $case: 'bundle', bundle };
  const env = bundle.content.dsseEnvelope;
  checkSize(env.payload.length, MAX_PAYLOAD_BYTES, 'DSSE payload');
  return {
    $case: 'bundle',
    bundle,
    dsse: {
      payloadType: env.payloadType,
      payload: env.payload,
      signatures: env.signatures.map((s) => ({ keyid: s.keyid, sig: s.sig })),
    },
  };
}

function envelopeFromValue(v: unknown, where: string): SignedEnvelope {
  if (isBundleJson(v)) return bundleFromJsonValue(v);
  if (isDsseJson(v)) return { $case: 'dsse', dsse: dsseFromJson(v) };
  throw new ReprodError('UNSUPPORTED_FORMAT', `${where} is neither a Sigstore bundle nor a DSSE envelope`);
}

function parseNpmWrapper(v: Record<string, unknown>): SignedEnvelope[] {
  const list = v.attestations;
  if (!Array.isArray(list) || list.length === 0) throw new ReprodError('ATTESTATION_MALFORMED', 'npm attestations list is empty');
  if (list.length > MAX_NPM_ATTESTATIONS) {
    throw new ReprodError('ATTESTATION_TOO_LARGE', `npm wrapper holds ${list.length} attestations, over ${MAX_NPM_ATTESTATIONS}`);
  }
  return list.map((a, i) => {
    if (!isRecord(a) || !isBundleJson(a.bundle)) throw new ReprodError('ATTESTATION_MALFORMED', `npm attestation ${i} has no Sigstore bundle`);
    return bundleFromJsonValue(a.bundle);
  });
}

/** Detects the format of attestation bytes and decodes every envelope in them. */
export function parseAttestation(bytes: Uint8Array): ParsedAttestation {
  checkSize(bytes.byteLength, MAX_ATTESTATION_BYTES, 'attestation');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new ReprodError('ATTESTATION_MALFORMED', 'attestation is not UTF-8 text', { cause: e });
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new ReprodError('ATTESTATION_MALFORMED', 'attestation is empty');
  // One JSON document (possibly pretty-printed over many lines) or JSON Lines.
  let whole: unknown;
  let wholeError: unknown;
  try {
    whole = parseJsonLimited(text, 'attestation');
  } catch (e) {
    if (lines.length === 1 || (e as ReprodError).code !== 'ATTESTATION_MALFORMED' || /nests deeper/.test((e as Error).message)) throw e;
    wholeError = e;
  }
  if (wholeError === undefined) {
    if (isBundleJson(whole)) return { format: 'sigstore-bundle', envelopes: [bundleFromJsonValue(whole)] };
    if (isDsseJson(whole)) return { format: 'dsse', envelopes: [{ $case: 'dsse', dsse: dsseFromJson(whole) }] };
    if (isRecord(whole) && 'attestations' in whole) return { format: 'npm-attestations', envelopes: parseNpmWrapper(whole) };
    throw new ReprodError('UNSUPPORTED_FORMAT', 'not a Sigstore bundle, DSSE envelope, in-toto JSONL or npm attestations file');
  }
  if (lines.length > MAX_JSONL_LINES) {
    throw new ReprodError('ATTESTATION_TOO_LARGE', `JSONL has ${lines.length} lines, over the limit of ${MAX_JSONL_LINES}`, {
      details: { lines: lines.length, limit: MAX_JSONL_LINES },
    });
  }
  const envelopes = lines.map((line, i) => envelopeFromValue(parseJsonLimited(line, `JSONL line ${i + 1}`), `JSONL line ${i + 1}`));
  return { format: 'intoto-jsonl', envelopes };
}
