import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ReprodError, isReprodError } from '../errors.ts';
import type { ConsumerPolicy, PolicyRebuilder } from './policy.ts';
import { REPRODUCED_LEVEL, STATEMENT_TYPE, VSA_PREDICATE_TYPE, type VsaPredicate } from './statements.ts';
import { bundleKeyHint, parseDsseBundle, verifyStatementBundle } from './verify-bundle.ts';

/**
 * `reprod verify`: is an artifact trusted? Yes when at least `threshold` of
 * the rebuilders named in the consumer's policy signed a VSA saying they
 * reproduced exactly its sha256. Everything is checked offline.
 */

/** Limits on what is read from attestation folders (hostile input). */
export const MAX_ATTESTATION_BYTES = 16 * 1024 * 1024;
export const MAX_ATTESTATION_FILES = 10_000;
export const MAX_WALK_DEPTH = 8;

export interface AttestationInput {
  /** File path (and `:line` for JSONL). */
  source: string;
  json: unknown;
}

export type RebuilderStatus = 'reproduced' | 'not-reproduced' | 'error' | 'missing';

export interface RebuilderVerdict {
  name: string;
  signer: string;
  status: RebuilderStatus;
  /** How many valid VSAs for this artifact the rebuilder signed. */
  attestations: number;
  timeVerified?: string;
  source?: string;
  /** Cause summary or error of a FAILED VSA. */
  detail?: string;
}

export type IgnoredReason = 'malformed' | 'signature-invalid' | 'unnamed-signer' | 'other-digest' | 'not-a-vsa' | 'not-a-reproduction' | 'too-large';

export interface ConsumerResult {
  artifact: { sha256: string; path?: string };
  threshold: number;
  agreed: number;
  trusted: boolean;
  rebuilders: RebuilderVerdict[];
  ignored: { source: string; reason: IgnoredReason; detail: string }[];
}

/** sha256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    await pipeline(createReadStream(path), hash);
  } catch (e) {
    throw new ReprodError('USAGE', `cannot read artifact ${path}: ${(e as Error).message}`, { cause: e });
  }
  return hash.digest('hex');
}

function describeSigner(r: PolicyRebuilder): string {
  return r.$case === 'key' ? `key ${r.keyId.slice(0, 16)}…` : `${r.identity} (${r.issuer})`;
}

interface Found {
  rebuilder: PolicyRebuilder;
  status: Exclude<RebuilderStatus, 'missing'>;
  timeVerified: string;
  source: string;
  detail?: string;
}

type Checked = { ok: Found } | { ignored: { reason: IgnoredReason; detail: string } };

/** Verifies one bundle against the policy and reads its VSA (pure; no I/O). */
export function checkAttestation(input: AttestationInput, sha256: string, policy: ConsumerPolicy): Checked {
  let bundle;
  try {
    bundle = parseDsseBundle(input.json);
  } catch (e) {
    return { ignored: { reason: 'malformed', detail: (e as Error).message } };
  }
  const hint = bundleKeyHint(bundle);
  const candidates = policy.rebuilders.filter((r) => (hint.$case === 'key' ? r.$case === 'key' && r.keyId === hint.hint : r.$case === 'identity'));
  if (candidates.length === 0) {
    return { ignored: { reason: 'unnamed-signer', detail: hint.$case === 'key' ? `key ${hint.hint} is not in the policy` : 'certificate signer, but the policy names no identities' } };
  }
  let statement;
  let signer: PolicyRebuilder | undefined;
  let lastError: unknown;
  for (const r of candidates) {
    try {
      statement = verifyStatementBundle(bundle, r);
      signer = r;
      break;
    } catch (e) {
      lastError = e;
    }
  }
  if (signer === undefined || statement === undefined) {
    // A named key whose signature fails is tampering; an identity no rebuilder has is a stranger.
    const untrusted = isReprodError(lastError, 'UNTRUSTED_SIGNER');
    return { ignored: { reason: untrusted ? 'unnamed-signer' : 'signature-invalid', detail: (lastError as Error).message } };
  }
  if (statement?._type !== STATEMENT_TYPE || statement.predicateType !== VSA_PREDICATE_TYPE) {
    return { ignored: { reason: 'not-a-vsa', detail: `predicate ${String(statement?.predicateType)}` } };
  }
  const subjects = Array.isArray(statement.subject) ? statement.subject : [];
  if (!subjects.some((s) => s?.digest?.sha256 === sha256)) {
    return { ignored: { reason: 'other-digest', detail: `signed by ${signer.name} for ${subjects.map((s) => s?.digest?.sha256).join(', ')}` } };
  }
  const p = statement.predicate as Partial<VsaPredicate>;
  const levels = Array.isArray(p.verifiedLevels) ? p.verifiedLevels : [];
  const timeVerified = typeof p.timeVerified === 'string' ? p.timeVerified : '';
  if (p.verificationResult === 'PASSED') {
    if (!levels.includes(REPRODUCED_LEVEL)) return { ignored: { reason: 'not-a-reproduction', detail: `PASSED without ${REPRODUCED_LEVEL}` } };
    return { ok: { rebuilder: signer, status: 'reproduced', timeVerified, source: input.source } };
  }
  const outcome = p.reprod?.outcome === 'error' ? 'error' : 'not-reproduced';
  const detail = p.reprod?.error
    ? `${p.reprod.error.code}: ${p.reprod.error.message}`
    : p.reprod?.causes?.map((c) => c.kind).join(', ') || (p.reprod?.rebuiltSha256 ? `rebuilt ${p.reprod.rebuiltSha256}` : undefined);
  return { ok: { rebuilder: signer, status: outcome, timeVerified, source: input.source, ...(detail ? { detail } : {}) } };
}

/** Decides trust from already-read attestations (no I/O). */
export function evaluate(sha256: string, attestations: AttestationInput[], policy: ConsumerPolicy, tooLarge: string[] = []): ConsumerResult {
  const ignored: ConsumerResult['ignored'] = tooLarge.map((source) => ({ source, reason: 'too-large' as const, detail: `over ${MAX_ATTESTATION_BYTES} bytes` }));
  const found = new Map<string, Found[]>();
  for (const a of attestations) {
    const c = checkAttestation(a, sha256, policy);
    if ('ignored' in c) ignored.push({ source: a.source, ...c.ignored });
    else found.set(c.ok.rebuilder.name, [...(found.get(c.ok.rebuilder.name) ?? []), c.ok]);
  }
  const rebuilders = policy.rebuilders.map((r): RebuilderVerdict => {
    const mine = found.get(r.name) ?? [];
    if (mine.length === 0) return { name: r.name, signer: describeSigner(r), status: 'missing', attestations: 0 };
    // A rebuilder counts once: its latest verdict stands; on a tie a failure wins.
    const latest = [...mine].sort((a, b) => b.timeVerified.localeCompare(a.timeVerified) || Number(a.status === 'reproduced') - Number(b.status === 'reproduced'))[0]!;
    return {
      name: r.name,
      signer: describeSigner(r),
      status: latest.status,
      attestations: mine.length,
      timeVerified: latest.timeVerified,
      source: latest.source,
      ...(latest.detail ? { detail: latest.detail } : {}),
    };
  });
  const agreed = rebuilders.filter((r) => r.status === 'reproduced').length;
  return { artifact: { sha256 }, threshold: policy.threshold, agreed, trusted: agreed >= policy.threshold, rebuilders, ignored };
}

async function walk(dir: string, depth: number, out: string[]): Promise<void> {
  if (depth > MAX_WALK_DEPTH) return;
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    if (out.length >= MAX_ATTESTATION_FILES) {
      throw new ReprodError('ATTESTATION_TOO_LARGE', `more than ${MAX_ATTESTATION_FILES} attestation files under the given folders`);
    }
    const p = join(dir, e.name);
    // Symlinks are not followed: a folder of hostile attestations must not point us elsewhere.
    if (e.isDirectory()) await walk(p, depth + 1, out);
    else if (e.isFile() && (e.name.endsWith('.json') || e.name.endsWith('.jsonl'))) out.push(p);
  }
}

/**
 * Reads attestations from files and folders. Folders are walked for *.json
 * and *.jsonl (one bundle per line); JSON files that are not Sigstore bundles
 * (e.g. verdict.json beside them) are skipped in folders, reported when named.
 */
export async function readAttestations(paths: string[]): Promise<{ attestations: AttestationInput[]; tooLarge: string[] }> {
  const attestations: AttestationInput[] = [];
  const tooLarge: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = await stat(p);
    } catch (e) {
      throw new ReprodError('USAGE', `cannot read attestations at ${p}`, { cause: e });
    }
    const explicit = !st.isDirectory();
    const files: string[] = [];
    if (explicit) files.push(p);
    else await walk(p, 0, files);
    for (const f of files) {
      if ((await stat(f)).size > MAX_ATTESTATION_BYTES) {
        tooLarge.push(f);
        continue;
      }
      const text = await readFile(f, 'utf8');
      if (f.endsWith('.jsonl')) {
        text.split('\n').forEach((line, i) => {
          if (line.trim() !== '') attestations.push({ source: `${f}:${i + 1}`, json: parseOrText(line) });
        });
        continue;
      }
      const json = parseOrText(text);
      if (!explicit && !looksLikeBundle(json)) continue;
      attestations.push({ source: f, json });
    }
  }
  return { attestations, tooLarge };
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function looksLikeBundle(json: unknown): boolean {
  return typeof json === 'object' && json !== null && typeof (json as { mediaType?: unknown }).mediaType === 'string' && (json as { mediaType: string }).mediaType.includes('sigstore.bundle');
}
