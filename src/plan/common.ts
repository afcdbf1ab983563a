import type { VerifiedClaim } from '../attest/types.ts';
import { ReprodError } from '../errors.ts';
import type { PlanLimits } from './types.ts';
import type { Limits } from '../config/schema.ts';

/** Shared checks and defaults for rebuilders. Pure. */

export const COMMIT_HEX = /^[0-9a-f]{40}$/;
export const SHA256_HEX = /^[0-9a-f]{64}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The fixed part of every build environment (DESIGN.md section 5). */
export function baseEnv(sourceDateEpoch: number): Record<string, string> {
  return { LC_ALL: 'C.UTF-8', SOURCE_DATE_EPOCH: String(sourceDateEpoch), TZ: 'UTC' };
}

export function planLimits(limits: Limits): PlanLimits {
  return {
    timeoutSeconds: limits.timeoutSeconds,
    fetchTimeoutSeconds: limits.fetchTimeoutSeconds,
    memoryBytes: limits.memoryMb * 1024 * 1024,
    pids: limits.pids,
    cpus: limits.cpus,
    logBytes: limits.logBytes,
    outputBytes: limits.outputBytes,
    scratchBytes: limits.scratchBytes,
  };
}

export function invalid(message: string, details?: Record<string, unknown>): ReprodError {
  return new ReprodError('PLAN_INVALID', message, details ? { details } : {});
}

/** `git+https://host/x@refs/heads/main` → `{repo: https://host/x, ref: refs/heads/main}`. */
export function splitGitUri(uri: string): { repo: string; ref?: string } {
  let repo = uri.startsWith('git+') ? uri.slice(4) : uri;
  let ref: string | undefined;
  const at = repo.lastIndexOf('@');
  // An '@' after the last '/' separates a ref; one in `user@host` comes before it.
  const refStart = repo.indexOf('@refs/');
  if (refStart > 0) {
    ref = repo.slice(refStart + 1);
    repo = repo.slice(0, refStart);
  } else if (at > repo.lastIndexOf('/')) {
    ref = repo.slice(at + 1);
    repo = repo.slice(0, at);
  }
  return ref ? { repo, ref } : { repo };
}

export function requireCommit(commit: unknown, where: string): string {
  if (typeof commit !== 'string' || !COMMIT_HEX.test(commit)) {
    throw invalid(`${where}: expected a 40-hex git commit, got ${JSON.stringify(commit)}`);
  }
  return commit;
}

/** A path inside the build directory: relative, no `..`, no empty segments. */
export function requireRelativePath(p: unknown, where: string): string {
  if (typeof p !== 'string' || p === '' || p.startsWith('/') || p.includes('\0')) {
    throw invalid(`${where}: expected a relative path, got ${JSON.stringify(p)}`);
  }
  const parts = p.split('/');
  if (parts.some((s) => s === '..' || s === '')) throw invalid(`${where}: path ${JSON.stringify(p)} leaves the build directory`);
  return parts.filter((s) => s !== '.').join('/');
}

export function requireEnv(env: unknown, where: string): Record<string, string> {
  if (env === undefined) return {};
  if (typeof env !== 'object' || env === null || Array.isArray(env)) throw invalid(`${where}: expected a map of strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_NAME.test(k)) throw invalid(`${where}: ${JSON.stringify(k)} is not an environment variable name`);
    if (typeof v !== 'string') throw invalid(`${where}.${k}: expected a string`);
    out[k] = v;
  }
  return sortKeys(out);
}

export function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Finds the git source a claim names: claim.source, else a git resolved dependency. */
export function claimSource(vc: VerifiedClaim): { repo: string; commit: string; ref?: string } | undefined {
  const { claim } = vc;
  if (claim.source?.uri && claim.source.commit) {
    const { repo, ref } = splitGitUri(claim.source.uri);
    const r = claim.source.ref ?? ref;
    return { repo, commit: claim.source.commit, ...(r ? { ref: r } : {}) };
  }
  for (const dep of claim.resolvedDependencies) {
    const commit = dep.digest.gitCommit ?? dep.digest.sha1;
    if (dep.uri?.startsWith('git+') && commit) {
      const { repo, ref } = splitGitUri(dep.uri);
      return { repo, commit, ...(ref ? { ref } : {}) };
    }
  }
  return undefined;
}
