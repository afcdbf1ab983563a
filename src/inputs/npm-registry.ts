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
/** Largest registry document read (packuments of big packages are tens of MB). */
export const MAX_METADATA_BYTES = 64 * 1024 * 1024;

async function getJson(url: URL, signal?: AbortSignal): Promise<unknown> {
  const timeout = AbortSignal.timeout(REGISTRY_TIMEOUT_MS);
  const res = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout, headers: { accept: 'application/json' } });
  if (!res.ok) return undefined;
  const text = await res.text();
  if (text.length === 0 || text.length > MAX_METADATA_BYTES) return undefined;
  return JSON.parse(text) as unknown;
}

type VersionDoc = { _npmVersion?: unknown; _nodeVersion?: unknown; dist?: { tarball?: unknown } };

/**
 * `_npmVersion` / `_nodeVersion` / `dist.tarball` the registry recorded for one
 * package version: the version document, else the packument's entry (registries
 * and mirrors differ in which they serve). Missing metadata is not an error
 * (the plan notes it): undefined on any failure.
 */
export async function npmVersionFacts(name: string, version: string, signal?: AbortSignal): Promise<NpmVersionFacts | undefined> {
  const registry = await hostNpmRegistry();
  if (!registry) return undefined;
  const encoded = name.replace('/', '%2f');
  let doc: VersionDoc | undefined;
  try {
    doc = (await getJson(new URL(`${encoded}/${encodeURIComponent(version)}`, registry), signal)) as VersionDoc | undefined;
  } catch {
    doc = undefined;
  }
  if (doc?._npmVersion === undefined) {
    try {
      const packument = (await getJson(new URL(encoded, registry), signal)) as { versions?: Record<string, VersionDoc> } | undefined;
      doc = packument?.versions?.[version] ?? doc;
    } catch {
      // keep what we have
    }
  }
  if (!doc) return undefined;
  const facts: NpmVersionFacts = {};
  if (typeof doc._npmVersion === 'string') facts.npmVersion = doc._npmVersion;
  if (typeof doc._nodeVersion === 'string') facts.nodeVersion = doc._nodeVersion;
  // Only tarballs on the registry's own origin are fetched later (no SSRF through metadata).
  try {
    if (typeof doc.dist?.tarball === 'string' && new URL(doc.dist.tarball).origin === new URL(registry).origin) facts.tarball = doc.dist.tarball;
  } catch {
    // not a URL: ignored
  }
  return facts;
}
