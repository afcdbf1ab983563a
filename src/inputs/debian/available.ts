/**
 * Which versions of the buildinfo's build dependencies the builder image's
 * mirrors offer, read from their signed Packages indices (the same apt chain as
 * archive.ts), so a missing version is known before mmdebstrap runs: an error
 * naming the packages, or, with allowDrift, the mirror's version pinned instead
 * and the drift named in the verdict.
 */
import { Archive } from './archive.ts';
import type { PinnedPackage } from './claim.ts';
import { compareVersions } from './version.ts';

/** `deb [opts] URI SUITE COMPONENT…` lines → (uri, suite, component) triples. */
export function parseMirrorLines(lines: string[]): Array<{ uri: string; suite: string; component: string }> {
  const out: Array<{ uri: string; suite: string; component: string }> = [];
  for (const line of lines) {
    const [type, uri, suite, ...components] = line.replace(/\[[^\]]*\]/, ' ').trim().split(/\s+/);
    if (type !== 'deb' || !uri || !suite) continue;
    for (const component of components.length ? components : ['main']) out.push({ uri, suite, component });
  }
  return out;
}

/** name → versions offered, from Packages texts (only the names asked for, when given). */
export function versionsIn(texts: string[], names?: ReadonlySet<string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const text of texts) {
    for (const para of text.split('\n\n')) {
      const name = /^Package: (\S+)$/m.exec(para)?.[1];
      if (!name || (names && !names.has(name))) continue;
      const version = /^Version: (\S+)$/m.exec(para)?.[1];
      if (!version) continue;
      const list = out.get(name) ?? [];
      if (!list.includes(version)) list.push(version);
      out.set(name, list);
    }
  }
  return out;
}

/** Parsed indices are kept this long per (mirrors, arch, keyrings): a daemon rebuilding many packages reads them once. */
export const AVAILABLE_CACHE_MS = 10 * 60 * 1000;
const cache = new Map<string, { at: number; versions: Promise<Map<string, string[]>> }>();

export async function availableVersions(lines: string[], arch: string, names: ReadonlySet<string>, keyrings: string[], signal?: AbortSignal): Promise<Map<string, string[]>> {
  const key = JSON.stringify([lines, arch, keyrings]);
  let hit = cache.get(key);
  if (!hit || Date.now() - hit.at > AVAILABLE_CACHE_MS) {
    const versions = (async () => {
      const texts: string[] = [];
      for (const { uri, suite, component } of parseMirrorLines(lines)) {
        const archive = new Archive({ mirror: uri, keyrings, component, ...(signal ? { signal } : {}) });
        texts.push((await archive.packagesText(suite, arch)).toString('utf8'));
      }
      return versionsIn(texts);
    })();
    hit = { at: Date.now(), versions };
    cache.set(key, hit);
    versions.catch(() => cache.delete(key));
  }
  const all = await hit.versions;
  return new Map([...names].filter((n) => all.has(n)).map((n) => [n, all.get(n)!]));
}

export interface ResolvedPins {
  /** What the image gets: the recorded version when offered, else (drift allowed) the newest offered. */
  packages: PinnedPackage[];
  /** `make 4.3-4 → 4.3-4.1`: recorded versions not offered, replaced. */
  drift: string[];
  /** Recorded packages the mirrors do not offer at any version (left out with drift allowed). */
  missing: string[];
}

/** Pure: the recorded pins against what the mirrors offer. */
export function resolvePins(pinned: readonly PinnedPackage[], available: ReadonlyMap<string, readonly string[]>): ResolvedPins {
  const packages: PinnedPackage[] = [];
  const drift: string[] = [];
  const missing: string[] = [];
  for (const p of pinned) {
    const offered = available.get(p.name) ?? [];
    if (offered.includes(p.version)) packages.push(p);
    else if (offered.length === 0) missing.push(`${p.name} ${p.version}`);
    else {
      const newest = [...offered].sort(compareVersions).at(-1)!;
      drift.push(`${p.name} ${p.version} → ${newest}`);
      packages.push({ ...p, version: newest });
    }
  }
  return { packages, drift, missing };
}
