import type { LoadedConfig } from '../../config/load.ts';
import type { FeedConfig } from '../../config/daemon.ts';
import { archiveFromConfig } from '../../inputs/debian/archive-config.ts';
import { indexCacheDir } from '../../inputs/debian/intake.ts';
import { DebianPackagesFeed } from './debian-packages.ts';
import type { FeedDeps } from './types.ts';

/** The debian-packages feed of a config entry, over the archive of rebuilders.debian.archive. */
export function debianPackagesFeed(loaded: LoadedConfig, f: Extract<FeedConfig, { type: 'debian-packages' }>, name: string, deps: FeedDeps): DebianPackagesFeed {
  // InRelease is fetched at every poll (it is small); Packages only when it changed
  let archive: ReturnType<typeof archiveFromConfig> | undefined;
  const open = () => {
    archive ??= archiveFromConfig(loaded.config.rebuilders.debian.archive, loaded.baseDir, { releaseMaxAgeMs: 0, cacheDir: indexCacheDir(loaded.config, loaded.baseDir) });
    // a failure (no apt sources yet) is tried again at the next poll
    archive.catch(() => (archive = undefined));
    return archive;
  };
  return new DebianPackagesFeed(
    { name, packages: f.packages, architectures: f.architectures, intervalMs: f.intervalSeconds * 1000, maxBackoffMs: f.maxBackoffSeconds * 1000, archive: open },
    deps,
  );
}
