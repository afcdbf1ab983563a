/**
 * Intake of a Debian archive request: the claim's subjects are the .debs the
 * archive's signed Packages index lists for that source version, and its
 * source files are pinned by the signed Sources index. The archive signature
 * (InRelease, gpgv against the configured keyrings) is the claim's signer.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { VerifiedClaim } from '../../attest/types.ts';
import { ReprodError } from '../../errors.ts';
import type { ArchiveSetting } from './archive-config.ts';
import { debianClaim } from './claim.ts';
import { paragraphsMentioning } from './archive.ts';
import { field } from './deb822.ts';
import type { BinaryPackage, SourcePackage } from './packages.ts';
import { parseDebianRequest, type DebianRequest } from './request.ts';
import { compareVersions } from './version.ts';

export async function intakeDebianRequest(bytes: Uint8Array, setting: ArchiveSetting, uri?: string): Promise<VerifiedClaim> {
  const req = parseDebianRequest(Buffer.from(bytes).toString('utf8'));
  const { archive } = setting;
  const suites = req.suite ? [req.suite] : setting.suites;
  let suite: string | undefined;
  let debs: BinaryPackage[] = [];
  for (const s of suites) {
    debs = await archive.binaries(s, req.source, req.version, [req.architecture]);
    if (debs.length > 0) {
      suite = s;
      break;
    }
  }
  if (!suite) {
    throw new ReprodError('PACKAGE_NOT_FOUND', `${archive.mirror} lists no ${req.architecture} binaries of ${req.source} ${req.version} in ${suites.join(', ')}`, {
      details: { source: req.source, version: req.version, architecture: req.architecture, suites },
    });
  }
  let src: SourcePackage | undefined;
  for (const s of [suite, ...suites.filter((x) => x !== suite)]) if ((src = await archive.sourcePackage(s, req.source, req.version))) break;
  if (!src) throw new ReprodError('PACKAGE_NOT_FOUND', `${archive.mirror} has the binaries of ${req.source} ${req.version} but not its source package`, { details: { suites } });
  checkHints(req, debs);
  const release = await archive.release(suite);
  return debianClaim({
    params: {
      source: req.source,
      version: req.version,
      architecture: req.architecture,
      suite,
      mirror: archive.mirror,
      directory: src.directory,
      sourceFiles: src.files,
    },
    debs: debs.map((d) => ({ name: basename(d.filename), sha256: d.sha256 })),
    signer: { $case: 'key', keyId: `debian-archive:${release.signers[0] ?? 'unknown'}` },
    builderId: 'debian:archive',
    attestation: { format: 'debian-archive', sha256: createHash('sha256').update(bytes).digest('hex'), ...(uri ? { uri } : {}) },
  });
}

/** The unsigned hint must agree with the signed index, or the request is refused. */
function checkHints(req: DebianRequest, debs: BinaryPackage[]): void {
  for (const hint of req.debs) {
    const found = debs.find((d) => basename(d.filename) === hint.name);
    if (!found || found.sha256 !== hint.sha256) {
      throw new ReprodError('SUBJECT_MISMATCH', `the request names ${hint.name} with sha256 ${hint.sha256}, which the signed Packages index does not list`, {
        details: { hint, index: found ? { sha256: found.sha256 } : null },
      });
    }
  }
}

/** The newest version of a source package across the suites (its Sources entries), for `debian:hello` without a version. */
export async function currentSourceVersion(setting: ArchiveSetting, source: string, suites = setting.suites): Promise<{ version: string; suite: string } | undefined> {
  let best: { version: string; suite: string } | undefined;
  for (const suite of suites) {
    for (const p of paragraphsMentioning(await setting.archive.sourcesText(suite), source)) {
      const version = field(p, 'Version');
      if (field(p, 'Package') !== source || !version) continue;
      if (!best || compareVersions(version, best.version) > 0) best = { version, suite };
    }
  }
  return best;
}
