/**
 * Intake of Debian documents, told from their content: an archive request
 * (claim from the signed indices) or a `.buildinfo` (claim from the file,
 * signed by a trusted key or confirmed by the signed indices). Anything else
 * is not ours and goes to the attestation intake.
 */
import { createHash } from 'node:crypto';
import { basename, isAbsolute, resolve } from 'node:path';
import { checkClaimPolicy } from '../../attest/policy.ts';
import type { VerifiedClaim } from '../../attest/types.ts';
import type { Config } from '../../config/schema.ts';
import type { TrustPolicy } from '../../config/trust.ts';
import { archiveFromConfig, type ArchiveSetting } from './archive-config.ts';
import { intakeDebianRequest } from './archive-claim.ts';
import { intakeBuildinfo, type Buildinfo } from './buildinfo.ts';
import { debianDocumentKind } from './kind.ts';

export { debianDocumentKind } from './kind.ts';

export interface DebianIntakeDeps {
  config: Config;
  /** The config file's folder (relative keyrings). */
  baseDir: string;
  policy: TrustPolicy;
  /** The archive, opened once per process (its verified indices are cached); made on first use. */
  archive?: () => Promise<ArchiveSetting>;
}

/** Where verified index files are kept across runs: `<dataDir>/debian-indices`. */
export function indexCacheDir(config: Config, baseDir: string): string {
  return resolve(baseDir, config.dataDir, 'debian-indices');
}

/** A lazily opened archive shared by every intake of a process. */
export function sharedArchive(config: Config, baseDir: string): () => Promise<ArchiveSetting> {
  let setting: Promise<ArchiveSetting> | undefined;
  return () => {
    setting ??= archiveFromConfig(config.rebuilders.debian.archive, baseDir, { cacheDir: indexCacheDir(config, baseDir) });
    setting.catch(() => (setting = undefined));
    return setting;
  };
}

export async function intakeDebian(bytes: Uint8Array, deps: DebianIntakeDeps, uri?: string): Promise<VerifiedClaim[]> {
  const archive = deps.archive ?? sharedArchive(deps.config, deps.baseDir);
  let vc: VerifiedClaim;
  if (debianDocumentKind(bytes) === 'request') {
    vc = await intakeDebianRequest(bytes, await archive(), uri);
  } else {
    const trust = deps.config.trust.debian;
    vc = await intakeBuildinfo(
      bytes,
      {
        keyrings: trust.keyrings.map((k) => (isAbsolute(k) ? k : resolve(deps.baseDir, k))),
        allowUnsigned: trust.allowUnsignedBuildinfo,
        confirmDebs: async (b) => confirmDebs(b, await archive()),
      },
      { format: 'debian-buildinfo', sha256: createHash('sha256').update(bytes).digest('hex'), ...(uri ? { uri } : {}) },
    );
  }
  checkClaimPolicy(vc.claim, deps.policy);
  return [vc];
}

/** Every .deb of an unsigned buildinfo is in the signed Packages index with the same sha256. */
export async function confirmDebs(b: Buildinfo, setting: ArchiveSetting): Promise<boolean> {
  if (b.debs.length === 0) return false;
  const archs = [...new Set(b.debs.map((d) => d.name.replace(/\.u?deb$/, '').split('_').pop()!))];
  for (const suite of setting.suites) {
    const listed = await setting.archive.binaries(suite, b.source, b.version, archs);
    const bySha = new Map(listed.map((d) => [basename(d.filename), d.sha256]));
    if (b.debs.every((d) => bySha.get(d.name) === d.sha256)) return true;
  }
  return false;
}
