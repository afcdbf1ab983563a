import { ReprodError } from '../errors.ts';

/**
 * Hard limits on attestation input. Attestations are hostile input: every one
 * of these turns a would-be crash, hang or memory blow-up into a coded error.
 */

/** Whole attestation file (bundle, DSSE, JSONL, npm wrapper) as received. */
export const MAX_ATTESTATION_BYTES = 16 * 1024 * 1024;
/** Decoded DSSE payload (the in-toto statement). Real provenance is tens of KiB. */
export const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;
/** Subjects in one statement. */
export const MAX_SUBJECTS = 10_000;
/** Nesting of objects/arrays in any JSON value we parse. */
export const MAX_JSON_DEPTH = 64;
/** Non-empty lines of an in-toto JSONL file. */
export const MAX_JSONL_LINES = 1_000;
/** Entries of an npm `{"attestations": [...]}` wrapper. */
export const MAX_NPM_ATTESTATIONS = 100;

/**
 * Returns the deepest nesting of `[`/`{` in JSON text, ignoring brackets inside
 * strings, and stops as soon as `limit` is passed: JSON.parse recurses, so a
 * deeply nested input must be refused before it is parsed.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** JSON.parse behind the depth check; anything wrong is ATTESTATION_MALFORMED. */
export function parseJsonLimited(text: string, what: string): unknown {
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
    throw new ReprodError('ATTESTATION_MALFORMED', `${what} nests deeper than ${MAX_JSON_DEPTH} levels`, {
      details: { limit: MAX_JSON_DEPTH },
    });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ReprodError('ATTESTATION_MALFORMED', `${what} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

export function checkSize(bytes: number, limit: number, what: string): void {
  if (bytes > limit) {
    throw new ReprodError('ATTESTATION_TOO_LARGE', `${what} is ${bytes} bytes, over the limit of ${limit}`, {
      details: { bytes, limit },
    });
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
