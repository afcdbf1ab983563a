/**
 * `debian-packages` feed: watches the signed Packages indices of the archive
 * (rebuilders.debian.archive) for versions of a configured list of source
 * packages and enqueues each version once, as an archive request document
 * (src/inputs/debian/request.ts) whose Checksums-Sha256 lists the .debs, so the
 * daemon makes one job per .deb. Intake checks those digests again.
 *
 * Cheap when nothing changed: the cursor keeps the sha256 of each suite's
 * InRelease, and a Packages index is read only when InRelease changed. The
 * first poll enqueues the versions the archive has now.
 */
import { basename } from 'node:path';
import type { Archive } from '../../inputs/debian/archive.ts';
import { paragraphsMentioning } from '../../inputs/debian/archive.ts';
import { field } from '../../inputs/debian/deb822.ts';
import { sourceOf } from '../../inputs/debian/packages.ts';
import { formatDebianRequest, type DebianRequest } from '../../inputs/debian/request.ts';
import { PollingFeed } from './polling.ts';
import type { FeedDeps } from './types.ts';

/** Versions remembered in the cursor. */
export const MAX_SEEN_VERSIONS = 10_000;

export interface DebianPackagesFeedOptions {
  name: string;
  /** Source package names to watch. */
  packages: string[];
  /** Binary architectures to rebuild (`amd64`; `all` for arch-independent .debs). */
  architectures: string[];
  intervalMs: number;
  maxBackoffMs: number;
  /** The archive and the suites to watch, opened when the feed first polls. */
  archive: () => Promise<{ archive: Archive; suites: string[] }>;
}

interface Cursor {
  /** suite -> sha256 of the InRelease whose Packages were fully handled. */
  releases: Record<string, string>;
  /** `SRC=VERSION/ARCH` already enqueued. */
  seen: string[];
}

/** The requests the watched packages make in one Packages index (pure). */
export function requestsIn(packagesText: Buffer, watched: Set<string>, architecture: string, suite: string): DebianRequest[] {
  const groups = new Map<string, DebianRequest>();
  for (const name of watched) {
    for (const p of paragraphsMentioning(packagesText, name)) {
      const src = sourceOf(p);
      if (!watched.has(src.name) || field(p, 'Architecture') !== architecture) continue;
      const filename = field(p, 'Filename');
      const sha256 = field(p, 'SHA256');
      const size = Number(field(p, 'Size'));
      if (!filename || !sha256 || !Number.isInteger(size)) continue;
      const key = `${src.name}=${src.version}/${architecture}`;
      const req = groups.get(key) ?? { source: src.name, version: src.version, architecture, suite, debs: [] };
      if (!req.debs.some((d) => d.name === basename(filename))) req.debs.push({ name: basename(filename), size, sha256: sha256.toLowerCase() });
      groups.set(key, req);
    }
  }
  for (const r of groups.values()) r.debs.sort((a, b) => a.name.localeCompare(b.name));
  return [...groups.values()];
}

export class DebianPackagesFeed extends PollingFeed {
  readonly #o: DebianPackagesFeedOptions;

  constructor(options: DebianPackagesFeedOptions, deps: FeedDeps) {
    super(options, deps);
    this.#o = options;
  }

  protected async pollOnce(): Promise<void> {
    const raw = await this.deps.store.getCursor(this.name);
    const cursor: Cursor = raw ? (JSON.parse(raw) as Cursor) : { releases: {}, seen: [] };
    const seen = new Set(cursor.seen);
    const { archive, suites } = await this.#o.archive();
    const watched = new Set(this.#o.packages);
    for (const suite of suites) {
      if (this.signal.aborted) return;
      const release = await archive.release(suite);
      if (cursor.releases[suite] === release.inReleaseSha256) continue;
      for (const arch of this.#o.architectures) {
        const text = arch === 'all' ? await archive.packagesText(suite, release.architectures.find((a) => a !== 'all') ?? 'all') : await archive.packagesText(suite, arch);
        for (const req of requestsIn(text, watched, arch, suite)) {
          if (this.signal.aborted) return;
          const key = `${req.source}=${req.version}/${req.architecture}`;
          if (seen.has(key)) continue;
          // a failure (a store outage) ends the poll: this suite is read again next time (its InRelease is not recorded)
          await this.deps.submit(Buffer.from(formatDebianRequest(req)), { uri: `debian:${key}@${suite}`, source: this.name });
          seen.add(key);
          cursor.seen = [...seen].slice(-MAX_SEEN_VERSIONS);
          await this.deps.store.setCursor(this.name, JSON.stringify(cursor));
        }
      }
      cursor.releases[suite] = release.inReleaseSha256;
      await this.deps.store.setCursor(this.name, JSON.stringify(cursor));
    }
  }
}
