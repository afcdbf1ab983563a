/**
 * `reprod rebuild debian:SRC[=VERSION][/ARCH][@SUITE]`: the argument becomes
 * an archive request document (src/inputs/debian/request.ts); without a
 * version, the newest one the signed Sources indices list is taken.
 */
import type { LoadedConfig } from '../config/load.ts';
import { ReprodError } from '../errors.ts';
import { currentSourceVersion } from '../inputs/debian/archive-claim.ts';
import { archiveFromConfig } from '../inputs/debian/archive-config.ts';
import { indexCacheDir } from '../inputs/debian/intake.ts';
import { formatDebianRequest, parseRequestArgument } from '../inputs/debian/request.ts';

export async function debianRequestBytes(arg: string, loaded: LoadedConfig): Promise<Buffer | undefined> {
  const parsed = parseRequestArgument(arg);
  if (!parsed) return undefined;
  let version = parsed.version;
  if (version === undefined) {
    const setting = await archiveFromConfig(loaded.config.rebuilders.debian.archive, loaded.baseDir, { cacheDir: indexCacheDir(loaded.config, loaded.baseDir) });
    const current = await currentSourceVersion(setting, parsed.source, parsed.suite ? [parsed.suite] : setting.suites);
    if (!current) throw new ReprodError('PACKAGE_NOT_FOUND', `${setting.archive.mirror} has no source package ${parsed.source} in ${(parsed.suite ? [parsed.suite] : setting.suites).join(', ')}`);
    version = current.version;
  }
  return Buffer.from(formatDebianRequest({ source: parsed.source, version, architecture: parsed.architecture, ...(parsed.suite ? { suite: parsed.suite } : {}), debs: [] }));
}
