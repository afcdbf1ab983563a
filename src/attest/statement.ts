import { ReprodError } from '../errors.ts';
import { isRecord, MAX_SUBJECTS, parseJsonLimited } from './limits.ts';
import type { Claim, ResourceRef, Subject } from './types.ts';

/**
 * Decodes a signed in-toto statement (v1 or v0.1) holding SLSA provenance
 * (v1 or v0.2) or a SLSA VSA into one normalised Claim. Pure: no I/O, no
 * verification (that happened before, on the envelope).
 */

export const STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const STATEMENT_V01 = 'https://in-toto.io/Statement/v0.1';
export const PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const PROVENANCE_V02 = 'https://slsa.dev/provenance/v0.2';
export const VSA_V1 = 'https://slsa.dev/verification_summary/v1';

const HEX64 = /^[0-9a-f]{64}$/;
const HEX40 = /^[0-9a-f]{40}$/;

function malformed(message: string): ReprodError {
  return new ReprodError('ATTESTATION_MALFORMED', message);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function rec(v: unknown): Record<string, unknown> {
  return isRecord(v) ? v : {};
}

function digestMap(v: unknown, where: string): Record<string, string> {
  if (!isRecord(v)) throw malformed(`${where}: digest is not an object`);
  const out: Record<string, string> = {};
  for (const [alg, hex] of Object.entries(v)) {
    if (typeof hex !== 'string') throw malformed(`${where}: digest ${alg} is not a string`);
    out[alg] = hex.toLowerCase();
  }
  return out;
}

const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

function subjects(v: unknown): Subject[] {
  if (!Array.isArray(v) || v.length === 0) throw malformed('statement has no subjects');
  if (v.length > MAX_SUBJECTS) {
    throw new ReprodError('ATTESTATION_TOO_LARGE', `statement has ${v.length} subjects, over the limit of ${MAX_SUBJECTS}`);
  }
  const seen = new Set<string>();
  return v.map((s, i) => {
    if (!isRecord(s)) throw malformed(`subject ${i} is not an object`);
    const digest = digestMap(s.digest, `subject ${i}`);
    const sha256 = digest.sha256 ?? '';
    if (sha256 !== '' && !HEX64.test(sha256)) throw malformed(`subject ${i}: sha256 is not 64 hex digits`);
    if (sha256 === '' && Object.keys(digest).length === 0) throw malformed(`subject ${i} has no digest`);
    const name = str(s.name) ?? '';
    // Names become file names, log fields and terminal output: control characters never belong in one.
    if (CONTROL_CHARS.test(name)) throw malformed(`subject ${i}: name ${JSON.stringify(name)} contains control characters`);
    const key = `${name}\0${sha256}`;
    if (seen.has(key)) throw malformed(`subject ${i} (${name}) is listed twice`);
    seen.add(key);
    return { name, sha256, digest };
  });
}

function resourceRefs(v: unknown, where: string): ResourceRef[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw malformed(`${where} is not a list`);
  return v.filter(isRecord).map((r) => ({
    ...(str(r.uri) !== undefined ? { uri: str(r.uri)! } : {}),
    ...(str(r.name) !== undefined ? { name: str(r.name)! } : {}),
    digest: isRecord(r.digest) ? digestMap(r.digest, where) : {},
  })) as ResourceRef[];
}

/** A git commit from a digest map: gitCommit or sha1, 40 hex. */
function commitOf(digest: Record<string, string> | undefined): string | undefined {
  const c = digest?.gitCommit ?? digest?.sha1;
  return c !== undefined && HEX40.test(c) ? c : undefined;
}

/** `git+https://host/repo@refs/heads/main` → the uri as given without its `@ref` tail, and the ref. */
function splitRef(uri: string): { uri: string; ref?: string } {
  // The ref follows the last '@' of the path part (userinfo like ssh://git@host comes before it).
  const scheme = uri.indexOf('://');
  const pathStart = scheme === -1 ? 0 : uri.indexOf('/', scheme + 3);
  const at = uri.lastIndexOf('@');
  if (pathStart !== -1 && at > pathStart && at < uri.length - 1) return { uri: uri.slice(0, at), ref: uri.slice(at + 1) };
  return { uri };
}

function sourceFrom(uri: string | undefined, digest: Record<string, string> | undefined, ref?: string): Claim['source'] {
  if (!uri) return undefined;
  const split = splitRef(uri);
  const commit = commitOf(digest);
  const r = ref ?? split.ref;
  return { uri: split.uri, ...(commit ? { commit } : {}), ...(r ? { ref: r } : {}) };
}

function isGitUri(uri: string | undefined): boolean {
  return !!uri && (uri.startsWith('git+') || uri.endsWith('.git') || /^(https?|ssh|file):\/\//.test(uri));
}

/** SLSA provenance v1: source from externalParameters, else the first git resolved dependency. */
function provenanceV1(p: Record<string, unknown>): Omit<Claim, 'statementType' | 'predicateType' | 'subjects'> {
  const bd = rec(p.buildDefinition);
  const rd = rec(p.runDetails);
  const buildType = str(bd.buildType);
  if (!buildType) throw malformed('provenance v1 has no buildDefinition.buildType');
  const ext = rec(bd.externalParameters);
  const deps = resourceRefs(bd.resolvedDependencies, 'resolvedDependencies');
  let source: Claim['source'];
  const src = ext.source;
  if (isRecord(src)) {
    // reprod's container buildType: {uri, commit, ref}; the container-based builder: {uri, digest}.
    const commit = str(src.commit);
    source = sourceFrom(str(src.uri), commit ? { gitCommit: commit.toLowerCase() } : isRecord(src.digest) ? digestMap(src.digest, 'source') : undefined, str(src.ref));
  } else if (isRecord(ext.workflow)) {
    // GitHub Actions buildtype: workflow.repository + the gitCommit of the matching dependency.
    const wf = ext.workflow;
    const repo = str(wf.repository);
    const dep = deps.find((d) => d.uri !== undefined && repo !== undefined && d.uri.replace(/^git\+/, '').startsWith(repo));
    source = sourceFrom(repo, dep?.digest, str(wf.ref));
  }
  if (!source?.commit) {
    const dep = deps.find((d) => isGitUri(d.uri) && commitOf(d.digest));
    if (dep) source = sourceFrom(dep.uri, dep.digest);
  }
  const meta = rec(rd.metadata);
  return {
    buildType,
    builderId: str(rec(rd.builder).id) ?? '',
    ...(source ? { source } : {}),
    externalParameters: ext,
    ...(isRecord(bd.internalParameters) ? { internalParameters: bd.internalParameters } : {}),
    resolvedDependencies: deps,
    ...(str(meta.startedOn) ? { startedOn: str(meta.startedOn)! } : {}),
    ...(str(meta.finishedOn) ? { finishedOn: str(meta.finishedOn)! } : {}),
  };
}

/** SLSA provenance v0.2: source from invocation.configSource, else git materials. */
function provenanceV02(p: Record<string, unknown>): Omit<Claim, 'statementType' | 'predicateType' | 'subjects'> {
  const buildType = str(p.buildType);
  if (!buildType) throw malformed('provenance v0.2 has no buildType');
  const inv = rec(p.invocation);
  const cs = rec(inv.configSource);
  const materials = resourceRefs(p.materials, 'materials');
  let source = sourceFrom(str(cs.uri), isRecord(cs.digest) ? digestMap(cs.digest, 'configSource') : undefined);
  if (!source?.commit) {
    const m = materials.find((d) => isGitUri(d.uri) && commitOf(d.digest));
    if (m) source = sourceFrom(m.uri, m.digest);
  }
  const meta = rec(p.metadata);
  return {
    buildType,
    builderId: str(rec(p.builder).id) ?? '',
    ...(source ? { source } : {}),
    externalParameters: { ...rec(inv.parameters), ...(isRecord(p.buildConfig) ? { buildConfig: p.buildConfig } : {}), ...(isRecord(inv.configSource) ? { configSource: inv.configSource } : {}) },
    ...(isRecord(inv.environment) ? { internalParameters: inv.environment } : {}),
    resolvedDependencies: materials,
    ...(str(meta.buildStartedOn) ? { startedOn: str(meta.buildStartedOn)! } : {}),
    ...(str(meta.buildFinishedOn) ? { finishedOn: str(meta.buildFinishedOn)! } : {}),
  };
}

function vsaV1(p: Record<string, unknown>): Omit<Claim, 'statementType' | 'predicateType' | 'subjects'> {
  const verifierId = str(rec(p.verifier).id);
  const result = str(p.verificationResult);
  if (!verifierId || !result) throw malformed('VSA has no verifier.id or verificationResult');
  const levels = Array.isArray(p.verifiedLevels) ? p.verifiedLevels.filter((l): l is string => typeof l === 'string') : [];
  const policyUri = str(rec(p.policy).uri);
  return {
    kind: 'vsa',
    vsa: {
      verifierId,
      verificationResult: result,
      verifiedLevels: levels,
      ...(str(p.timeVerified) ? { timeVerified: str(p.timeVerified)! } : {}),
      ...(str(p.resourceUri) ? { resourceUri: str(p.resourceUri)! } : {}),
      ...(policyUri ? { policyUri } : {}),
    },
    buildType: '',
    builderId: verifierId,
    externalParameters: {},
    resolvedDependencies: resourceRefs(p.inputAttestations, 'inputAttestations'),
  };
}

/** Decodes a statement's JSON value. */
export function claimFromStatement(statement: unknown): Claim {
  if (!isRecord(statement)) throw malformed('statement is not a JSON object');
  const statementType = str(statement._type);
  if (statementType !== STATEMENT_V1 && statementType !== STATEMENT_V01) {
    throw new ReprodError('UNSUPPORTED_PREDICATE', `statement type ${JSON.stringify(statement._type)} is not in-toto v1 or v0.1`);
  }
  const predicateType = str(statement.predicateType) ?? '';
  const subs = subjects(statement.subject);
  if (!isRecord(statement.predicate)) throw malformed('statement has no predicate object');
  let body: Omit<Claim, 'statementType' | 'predicateType' | 'subjects'>;
  if (predicateType === PROVENANCE_V1) body = { kind: 'provenance', ...provenanceV1(statement.predicate) };
  else if (predicateType === PROVENANCE_V02) body = { kind: 'provenance', ...provenanceV02(statement.predicate) };
  else if (predicateType === VSA_V1) body = vsaV1(statement.predicate);
  else throw new ReprodError('UNSUPPORTED_PREDICATE', `predicate type ${JSON.stringify(predicateType)} is not SLSA provenance v1/v0.2 or a VSA`);
  return { statementType, predicateType, subjects: subs, ...body };
}

/** Decodes a DSSE payload (bytes) into a Claim, with the JSON limits applied. */
export function claimFromPayload(payload: Uint8Array): Claim {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch (e) {
    throw new ReprodError('ATTESTATION_MALFORMED', 'statement is not UTF-8', { cause: e });
  }
  return claimFromStatement(parseJsonLimited(text, 'statement'));
}
