import { invalid } from '../../src/plan/common.ts';
import type { DebianParameters, PinnedPackage } from '../../src/inputs/debian/claim.ts';
import type { Clock } from './types.ts';

/** Notes naming a drifted build dependency start with this. */
export const TOOLCHAIN_DRIFT_NOTE = 'toolchain drift: ';

/** The build's `installed packages` step prints one `reprod-deb-package: <name> <version>` line per package. */
export const PACKAGES_MARKER = 'reprod-deb-package:';

/** `name → version` of the packages the build printed. */
export function packagesFromLog(log: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of log.split('\n')) {
    if (!line.startsWith(PACKAGES_MARKER)) continue;
    const [name, version] = line.slice(PACKAGES_MARKER.length).trim().split(/\s+/);
    if (name && version) out.set(name, version);
  }
  return out;
}

/**
 * Build dependencies whose version in the image differs from the buildinfo's
 * (or that are missing): `make 4.3-4.1 (buildinfo: 4.3-4)`. Empty when the log
 * printed no package list (nothing can be said).
 */
export function toolchainDrift(want: readonly PinnedPackage[], have: Map<string, string>): string[] {
  if (have.size === 0) return [];
  const out: string[] = [];
  for (const p of want) {
    const got = have.get(p.name);
    if (got !== p.version) out.push(`${p.name} ${got ?? '(not installed)'} (buildinfo: ${p.version})`);
  }
  return out;
}

/** `Tue, 05 Mar 2024 12:00:00 +0000` → `2024-03-05 12:00:00` (UTC), as libfaketime's `@` start time wants it. */
export function faketimeStart(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
}

/**
 * libfaketime would also shift the times stat() reports: files unpacked before the
 * faked start then look older than SOURCE_DATE_EPOCH and escape dpkg-deb's mtime
 * clamp. Only the clock is faked.
 */
const REAL_FILE_TIMES = ['env', 'NO_FAKE_STAT=1'];

/** The argv prefix that runs a command under the plan's clock (libfaketime; the clock keeps running from the start time). */
export function clockCommand(clock: Clock, p: DebianParameters, sourceDateEpoch: number): string[] {
  switch (clock) {
    case 'real':
      return [];
    case 'source-date-epoch':
      return [...REAL_FILE_TIMES, 'faketime', '-f', `@${faketimeStart(sourceDateEpoch)}`];
    case 'build-date': {
      const date = p.buildinfo?.buildDate;
      if (!date) throw invalid('clock build-date needs a buildinfo with a Build-Date');
      return [...REAL_FILE_TIMES, 'faketime', '-f', `@${faketimeStart(Math.floor(Date.parse(date) / 1000))}`];
    }
  }
}
