/**
 * Turns attestation bytes into queue submissions: one job per (attestation,
 * subject). Only parses (intake's envelope decoder); signature and policy checks
 * happen when the job runs, so an unverifiable attestation ends as an `error`
 * job with its code instead of vanishing at the door.
 */
import { createHash } from 'node:crypto';
import { parseAttestation } from '../attest/envelope.ts';
import { isRecord, MAX_SUBJECTS } from '../attest/limits.ts';
import { ReprodError } from '../errors.ts';
import type { SubmitInput } from '../store/types.ts';
import { debianSubjects } from '../inputs/debian/subjects.ts';

export interface SubjectRef {
  name: string;
  /** sha256 hex, or `sha512:<hex>` when the statement gives no sha256 (npm). */
  sha256: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const HEX = /^[0-9a-f]+$/;

/** The subjects named by every statement in the attestation, deduplicated. */
export function subjectsOf(bytes: Uint8Array): SubjectRef[] {
  const debian = debianSubjects(bytes);
  if (debian) return debian;
  const parsed = parseAttestation(bytes);
  const out = new Map<string, SubjectRef>();
  for (const env of parsed.envelopes) {
    const dsse = env.$case === 'dsse' ? env.dsse : env.dsse;
    if (!dsse) continue;
    let statement: unknown;
    try {
      statement = JSON.parse(dsse.payload.toString('utf8'));
    } catch (e) {
      throw new ReprodError('ATTESTATION_MALFORMED', 'the DSSE payload is not JSON', { cause: e });
    }
    const subjects = isRecord(statement) && Array.isArray(statement.subject) ? statement.subject : [];
    if (subjects.length > MAX_SUBJECTS) throw new ReprodError('ATTESTATION_TOO_LARGE', `${subjects.length} subjects, over ${MAX_SUBJECTS}`);
    for (const s of subjects) {
      if (!isRecord(s) || !isRecord(s.digest)) continue;
      const name = typeof s.name === 'string' ? s.name : '';
      const sha256 = typeof s.digest.sha256 === 'string' ? s.digest.sha256.toLowerCase() : undefined;
      const sha512 = typeof s.digest.sha512 === 'string' ? s.digest.sha512.toLowerCase() : undefined;
      const key = sha256 && sha256.length === 64 && HEX.test(sha256) ? sha256 : sha512 && HEX.test(sha512) ? `sha512:${sha512}` : undefined;
      if (key && !out.has(key)) out.set(key, { name, sha256: key });
    }
  }
  if (out.size === 0) throw new ReprodError('ATTESTATION_MALFORMED', 'the attestation names no subject with a sha256 or sha512 digest');
  return [...out.values()];
}

/** One submission per subject; the bytes are stored once, content-addressed. */
export function submissionsFor(bytes: Uint8Array, meta: { uri?: string; source?: string; maxAttempts?: number }): SubmitInput[] {
  const attestationSha256 = sha256Hex(bytes);
  return subjectsOf(bytes).map((subject) => ({
    attestationSha256,
    attestation: bytes,
    subject,
    ...(meta.uri !== undefined ? { uri: meta.uri } : {}),
    ...(meta.source !== undefined ? { source: meta.source } : {}),
    ...(meta.maxAttempts !== undefined ? { maxAttempts: meta.maxAttempts } : {}),
  }));
}
