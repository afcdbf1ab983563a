import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { VerifiedClaim } from '../attest/types.ts';
import { verifyClearsigned } from '../inputs/debian/deb822.ts';
import { hostDebianCodename, hostMirrors } from '../build/apt-sources.ts';
import { ReprodError } from '../errors.ts';
import { DEFAULT_DEBIAN_KEYRING } from '../config/debian.ts';
import { debianArch } from '../build/arch.ts';
import { availableVersions, resolvePins } from '../inputs/debian/available.ts';
import type { PinnedPackage } from '../inputs/debian/claim.ts';
import { debianBuilderImage, dependencyNames } from '../build/debian-image.ts';
import { InputCache } from '../inputs/cache.ts';
import { pickDebianMirror, readAptSources } from '../inputs/debian/apt-sources.ts';
import { debianParameters } from '../inputs/debian/claim.ts';
import { fetchSourcePackage, locateSource } from '../inputs/debian/source-package.ts';
import type { Logger } from '../log/logger.ts';
import type { DebianFacts } from '../../rebuilders/debian/types.ts';
import type { RebuildContext } from './context.ts';

/**
 * The inputs stage of a Debian rebuild (I/O): the source package from the
 * mirror, pinned by the signed Sources index; the builder image holding the
 * buildinfo's build dependencies. What it finds becomes `facts.debian`.
 */
export interface DebianPrepared {
  /** Host folder with the source package's files (copied into the build folder). */
  dir: string;
  cached: boolean;
  facts: DebianFacts;
  /** Where the upstream .debs are on the mirror (`<mirror>/<pool directory>`), to fetch them for the diff. */
  poolUrl: string;
}

export async function prepareDebian(vc: VerifiedClaim, ctx: RebuildContext, opts: { signal?: AbortSignal; onProgress?: (m: string) => void; logger?: Logger } = {}): Promise<DebianPrepared> {
  const cfg = ctx.config.rebuilders.debian;
  const p = debianParameters(vc);
  const picked = cfg.archive.mirror && cfg.archive.suites ? undefined : pickDebianMirror(await readAptSources());
  const mirror = cfg.archive.mirror ?? picked!.uri;
  const suites = cfg.archive.suites ?? picked!.suites;
  opts.onProgress?.(`source package ${p.source} ${p.version} (signed Sources of ${suites.join(', ')})`);
  // Keyring paths in the config are relative to the config file.
  const path = (k: string) => (isAbsolute(k) || !ctx.baseDir ? k : resolve(ctx.baseDir, k));
  const where = await locateSource(p, { mirror, suites, keyrings: cfg.archive.keyrings.map(path), component: cfg.archive.component }, opts.signal, vc.attestation.format === 'debian-archive');
  const src = await fetchSourcePackage(where, new InputCache(ctx.dataDir), opts.signal);
  opts.onProgress?.(`${src.dsc} and ${src.files.length - 1} file(s) ${src.cached ? 'from cache' : 'fetched'}, sha256 checked`);
  if (cfg.sourceKeyrings.length > 0) {
    // Beside the archive's pin, the maintainer's signature on the .dsc (checked on every use, cached or not).
    await verifyClearsigned(await readFile(join(src.dir, src.dsc), 'utf8'), cfg.sourceKeyrings.map(path), { what: src.dsc });
    opts.onProgress?.(`${src.dsc}: signature verified`);
  }
  const release = cfg.release ?? (await hostDebianCodename()) ?? 'bookworm';
  const recorded = p.buildinfo?.installedBuildDepends ?? [];
  const { pinned, notes: pinNotes } = await checkPins(recorded, release, cfg, opts);
  const image = await debianBuilderImage(ctx.docker, {
    suite: release,
    pinned,
    fallbackPackages: dependencyNames(src.buildDepends, p.architecture),
    ...(cfg.snapshotMirror ? { mirrors: snapshotMirrorLines(cfg.snapshotMirror, release) } : {}),
    allowDrift: cfg.allowDrift,
    ...(opts.logger ? { logger: opts.logger } : {}),
    onProgress: (step, detail) => opts.onProgress?.(`builder image: ${step}${detail ? ` ${detail}` : ''}`),
  });
  const facts: DebianFacts = {
    image: { ref: image.ref, digest: image.digest },
    dsc: src.dsc,
    dscSha256: src.dscSha256,
    files: src.files,
    changelogEpoch: src.changelogEpoch,
    clock: cfg.clock,
    installedBuildDepends: recorded,
    notes: [...image.notes, ...pinNotes],
  };
  return { dir: src.dir, cached: src.cached, facts, poolUrl: `${where.mirror.replace(/\/+$/, '')}/${where.directory}` };
}

/**
 * The recorded versions against the image mirrors' signed Packages indices,
 * before mmdebstrap runs: missing ones are an error naming them, or with
 * allowDrift the mirror's newest version instead (named in the notes). A
 * snapshot mirror is not pre-checked (its Release is past Valid-Until by
 * design); mmdebstrap's own failure then decides.
 */
async function checkPins(
  recorded: PinnedPackage[],
  release: string,
  cfg: RebuildContext['config']['rebuilders']['debian'],
  opts: { signal?: AbortSignal; onProgress?: (m: string) => void; logger?: Logger },
): Promise<{ pinned: PinnedPackage[]; notes: string[] }> {
  if (recorded.length === 0 || cfg.snapshotMirror) return { pinned: recorded, notes: [] };
  let available: Map<string, string[]>;
  try {
    opts.onProgress?.(`build dependencies: ${recorded.length} recorded versions against the mirror's signed Packages`);
    // The image comes from the machine's own Debian mirrors (apt's sources), signed with Debian's archive keys.
    available = await availableVersions(await hostMirrors(release), debianArch(), new Set(recorded.map((r) => r.name)), [DEFAULT_DEBIAN_KEYRING], opts.signal);
  } catch (e) {
    // Not knowing is not a verdict: mmdebstrap tries the recorded versions and says what it cannot install.
    opts.logger?.warn({ err: (e as Error).message }, 'cannot read the image mirrors\' Packages; trying the recorded versions as they are');
    return { pinned: recorded, notes: [] };
  }
  const r = resolvePins(recorded, available);
  if (r.drift.length === 0 && r.missing.length === 0) return { pinned: r.packages, notes: [] };
  const what = [...r.drift.map((d) => `${d.split(' → ')[0]} (mirror has ${d.split(' → ')[1]})`), ...r.missing.map((m) => `${m} (not on the mirror)`)];
  if (!cfg.allowDrift) {
    throw new ReprodError('IMAGE_BUILD_FAILED', `the buildinfo's build dependencies are not on the mirror at their recorded versions: ${what.join(', ')}`, {
      details: { drift: r.drift, missing: r.missing, hint: 'set rebuilders.debian.snapshotMirror to a snapshot of the archive from the build date, or rebuilders.debian.allowDrift: true' },
    });
  }
  return { pinned: r.packages, notes: [`builder image with the mirror's versions instead of the recorded ones (allowDrift): ${what.join(', ')}`] };
}

/**
 * apt lines for a snapshot of the archive: its Release files are past their
 * Valid-Until by design (apt's check-valid-until=no); signatures are still checked.
 */
export function snapshotMirrorLines(url: string, release: string): string[] {
  return [`deb [check-valid-until=no] ${url.replace(/\/+$/, '')} ${release} main`];
}
