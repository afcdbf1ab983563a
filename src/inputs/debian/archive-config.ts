/**
 * The archive a config names: `rebuilders.debian.archive`, with the mirror and
 * suites taken from the machine's apt sources when the config sets none.
 */
import { isAbsolute, resolve } from 'node:path';
import type { DebianArchiveConfig } from '../../config/debian.ts';
import { pickDebianMirror, readAptSources } from './apt-sources.ts';
import { Archive } from './archive.ts';

export interface ArchiveSetting {
  archive: Archive;
  /** Suites searched in order. */
  suites: string[];
}

export async function archiveFromConfig(cfg: DebianArchiveConfig, baseDir: string, extra: { now?: () => Date; signal?: AbortSignal; releaseMaxAgeMs?: number; cacheDir?: string } = {}): Promise<ArchiveSetting> {
  let mirror = cfg.mirror;
  let suites = cfg.suites;
  if (!mirror || !suites) {
    const apt = pickDebianMirror(await readAptSources());
    mirror ??= apt.uri;
    suites ??= apt.suites;
  }
  const keyrings = cfg.keyrings.map((k) => (isAbsolute(k) ? k : resolve(baseDir, k)));
  return { archive: new Archive({ mirror, keyrings, component: cfg.component, ...extra }), suites };
}
