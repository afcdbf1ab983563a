import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { NpmVersionFacts } from '../plan/rebuilder.ts';

const run = promisify(execFile);

/** How long a registry metadata lookup may take before planning goes on without it. */
export const REGISTRY_TIMEOUT_MS = 10_000;

let registryUrl: Promise<string | undefined> | undefined;

/**
 * The npm registry this machine is configured for (`npm config get registry`),
 * read at run time: the registry is a deployment fact, never written in the repo.
 */
export function hostNpmRegistry(): Promise<string | undefined> {
  registryUrl ??= run('npm', ['config', 'get', 'registry'], { timeout: REGISTRY_TIMEOUT_MS })
    .then(({ stdout }) => {
      const url = stdout.trim();
      return /^https?:\/\//.test(url) ? url.replace(/\/?$/, '/') : undefined;
    })
    .catch(() => undefined);
  return registryUrl;
}

/**
 * `_npmVersion` / `_nodeVersion` the registry recorded for one package version.
 * Missing metadata is not an error (the plan notes it): undefined on any failure.
 */
export async function npmVersionFacts(name: string, version: string, signal?: AbortSignal): Promise<NpmVersionFacts | undefined> {
  const registry = await hostNpmRegistry();
  if (!registry) return undefined;
  const url = new URL(`${name.replace('/', '%2f')}/${encodeURIComponent(version)}`, registry);
  try {
    const timeout = AbortSignal.timeout(REGISTRY_TIMEOUT_MS);
    const res = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout, headers: { accept: 'application/json' } });
    if (!res.ok) return undefined;
    const doc = (await res.json()) as { _npmVersion?: unknown; _nodeVersion?: unknown; dist?: { tarball?: unknown } };
    const facts: NpmVersionFacts = {};
    // Only tarballs on the registry's own origin are fetched later (no SSRF through metadata).
    if (typeof doc.dist?.tarball === 'string' && new URL(doc.dist.tarball).origin === new URL(registry).origin) facts.tarball = doc.dist.tarball;
    if (typeof doc._npmVersion === 'string') facts.npmVersion = doc._npmVersion;
    if (typeof doc._nodeVersion === 'string') facts.nodeVersion = doc._nodeVersion;
    return facts;
  } catch {
    return undefined;
  }
}
