/**
 * `.buildinfo` files (dpkg-genbuildinfo, deb-buildinfo(5)) → a verified claim.
 *
 * Trust: a clear-signed buildinfo is accepted only when gpgv verifies it against
 * `trust.debian.keyrings` (the signer's fingerprint becomes the claim's signer).
 * An unsigned one is accepted only when `trust.debian.allowUnsignedBuildinfo` is
 * set, or when the caller confirms every listed .deb digest some other way (a
 * verified archive index): otherwise UNTRUSTED_SIGNER. Parsing is pure.
 */
import { ReprodError } from '../../errors.ts';
import type { Signer, VerifiedClaim } from '../../attest/types.ts';
import { field, fieldLines, parseDeb822, splitClearsigned, verifyClearsigned, type Paragraph } from './deb822.ts';
import { debianClaim, type BuildinfoFacts, type DebianParameters, type PinnedPackage } from './claim.ts';

/** Largest buildinfo accepted (Debian's are a few kB; the Installed-Build-Depends of a big package ~60 kB). */
export const MAX_BUILDINFO_BYTES = 1 << 20;

const PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/;
const VERSION = /^(?:[0-9]+:)?[0-9A-Za-z.+~-]+$/;
const ARCH = /^[a-z0-9-]+$/;
const DEB_FILE = /^[a-z0-9][a-z0-9+.-]*_[0-9A-Za-z.+~%-]+_[a-z0-9-]+\.u?deb$/;

export interface Buildinfo extends DebianParameters {
  buildinfo: BuildinfoFacts;
  /** The .debs (and .udebs) of Checksums-Sha256; other files (.dsc, .changes) are left out. */
  debs: Array<{ name: string; sha256: string; size: number }>;
}

/**
 * Content detection: a buildinfo is a deb822 document (possibly clear-signed)
 * with `Format:` and `Installed-Build-Depends:` or `Build-Origin:`/`Build-Architecture:`
 * fields. Looks at the first 64 kB only.
 */
export function looksLikeBuildinfo(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 65536)).toString('utf8');
  const start = head.replace(/^\uFEFF/, '');
  if (!/^(-----BEGIN PGP SIGNED MESSAGE-----\r?\n|Format: )/.test(start)) return false;
  return /^Format: 1\.\d+\s*$/m.test(start) && /^(Build-Architecture|Installed-Build-Depends|Build-Origin):/m.test(start) && /^Checksums-Sha256:/m.test(start);
}

function malformed(message: string): ReprodError {
  return new ReprodError('ATTESTATION_MALFORMED', `buildinfo: ${message}`);
}

function required(p: Paragraph, name: string): string {
  const v = field(p, name);
  if (v === undefined || v.trim() === '') throw malformed(`no ${name} field`);
  return v.trim();
}

/** `Installed-Build-Depends` entries: `name (= version)` or `name:arch (= version)`, comma separated. */
export function parseInstalledBuildDepends(value: string): PinnedPackage[] {
  const out: PinnedPackage[] = [];
  for (const raw of value.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const m = /^([a-z0-9][a-z0-9+.-]+)(?::([a-z0-9-]+))?\s*\(\s*=\s*([^\s)]+)\s*\)$/.exec(item);
    if (!m || !VERSION.test(m[3]!)) throw malformed(`Installed-Build-Depends entry ${JSON.stringify(item.slice(0, 120))} is not "name (= version)"`);
    out.push({ name: m[1]!, version: m[3]!, ...(m[2] ? { arch: m[2] } : {}) });
  }
  return out;
}

/** `Environment` lines `NAME="value"` (dpkg escapes `"` and `\` with a backslash). */
export function parseEnvironment(lines: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of lines) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"$/.exec(line);
    if (!m) throw malformed(`Environment line ${JSON.stringify(line.slice(0, 120))} is not NAME="value"`);
    env[m[1]!] = m[2]!.replace(/\\(.)/g, '$1');
  }
  return env;
}

/** The signed (or plain) body → the facts. Throws ATTESTATION_MALFORMED. */
export function parseBuildinfo(body: string): Buildinfo {
  const paragraphs = parseDeb822(body);
  if (paragraphs.length !== 1) throw malformed(`expected one paragraph, found ${paragraphs.length}`);
  const p = paragraphs[0]!;
  const format = required(p, 'Format');
  if (!/^1\.\d+$/.test(format)) throw malformed(`unsupported Format ${JSON.stringify(format)}`);
  const version = required(p, 'Version');
  // `Source: name` or `Source: name (source-version)` for binNMUs.
  const sm = /^([a-z0-9][a-z0-9+.-]+)(?:\s+\(([^)\s]+)\))?$/.exec(required(p, 'Source'));
  if (!sm) throw malformed('Source is not a package name');
  const sourceVersion = sm[2] ?? version;
  if (!VERSION.test(version) || !VERSION.test(sourceVersion)) throw malformed(`bad Version ${JSON.stringify(version)}`);
  const architectures = required(p, 'Architecture').split(/\s+/).filter((a) => a !== 'source');
  if (architectures.length === 0 || !architectures.every((a) => ARCH.test(a))) throw malformed('Architecture names no binary architecture');
  const buildArch = field(p, 'Build-Architecture')?.trim();
  const hostArch = architectures.find((a) => a !== 'all') ?? buildArch ?? 'all';

  const debs: Buildinfo['debs'] = [];
  for (const line of fieldLines(p, 'Checksums-Sha256')) {
    const [sha256, size, name, ...rest] = line.split(/\s+/);
    if (!sha256 || !/^[0-9a-f]{64}$/.test(sha256) || !size || !/^\d+$/.test(size) || !name || rest.length) throw malformed(`bad Checksums-Sha256 line ${JSON.stringify(line.slice(0, 120))}`);
    if (name.includes('/') || name.startsWith('.')) throw malformed(`file name ${JSON.stringify(name)} is not a plain file name`);
    if (DEB_FILE.test(name)) debs.push({ name, sha256, size: Number(size) });
  }
  if (debs.length === 0) throw malformed('Checksums-Sha256 lists no .deb');
  const ibd = field(p, 'Installed-Build-Depends');
  const buildPath = field(p, 'Build-Path')?.trim();
  if (buildPath !== undefined && (!buildPath.startsWith('/') || buildPath.split('/').some((s) => s === '..') || /[\s\0]/.test(buildPath) || buildPath === '/')) {
    throw malformed(`Build-Path ${JSON.stringify(buildPath)} is not a plain absolute path`);
  }
  const buildDate = field(p, 'Build-Date')?.trim();
  if (buildDate !== undefined && Number.isNaN(Date.parse(buildDate))) throw malformed(`Build-Date ${JSON.stringify(buildDate)} is not a date`);
  const facts: BuildinfoFacts = {
    environment: parseEnvironment(fieldLines(p, 'Environment')),
    installedBuildDepends: ibd === undefined ? [] : parseInstalledBuildDepends(ibd),
    architectures,
    ...(buildPath ? { buildPath } : {}),
    ...(buildDate ? { buildDate } : {}),
    ...(buildArch && ARCH.test(buildArch) ? { buildArchitecture: buildArch } : {}),
    ...(version !== sourceVersion ? { binaryVersion: version } : {}),
  };
  if (!PACKAGE.test(sm[1]!)) throw malformed('bad Source name');
  return { source: sm[1]!, version: sourceVersion, architecture: hostArch, buildinfo: facts, debs };
}

export interface BuildinfoTrust {
  /** Keyrings whose keys may sign buildinfo files (trust.debian.keyrings). */
  keyrings: string[];
  /** Accept unsigned (or unverifiable) buildinfo files (trust.debian.allowUnsignedBuildinfo). */
  allowUnsigned: boolean;
  /**
   * Confirms the .deb digests some other way (a verified archive index); true when
   * every one is confirmed. Lets an unsigned buildinfo in when its outputs are the
   * archive's.
   */
  confirmDebs?: (b: Buildinfo) => Promise<boolean>;
}

/** Verify (gpgv) or apply the unsigned rule, then parse: the verified claim. */
export async function intakeBuildinfo(bytes: Uint8Array, trust: BuildinfoTrust, attestation: VerifiedClaim['attestation']): Promise<VerifiedClaim> {
  if (bytes.length > MAX_BUILDINFO_BYTES) throw new ReprodError('ATTESTATION_TOO_LARGE', `buildinfo is ${bytes.length} bytes, more than ${MAX_BUILDINFO_BYTES}`);
  const text = Buffer.from(bytes).toString('utf8');
  const split = splitClearsigned(text);
  let signer: Signer;
  let body: string;
  if (split.signed) {
    if (trust.keyrings.length === 0 && !trust.allowUnsigned) {
      throw new ReprodError('UNTRUSTED_SIGNER', 'the buildinfo is signed, but trust.debian.keyrings names no keyring to check it with');
    }
    if (trust.keyrings.length === 0) {
      body = split.body;
      signer = { $case: 'unverified' };
    } else {
      body = await verifyClearsigned(text, trust.keyrings, { what: 'buildinfo' });
      // gpgv checked it against these keyrings; the keyring files name the signer.
      signer = { $case: 'key', keyId: `gpg:${trust.keyrings.map((k) => k.split('/').pop()).join(',')}` };
    }
  } else {
    body = split.body;
    signer = { $case: 'unverified' };
  }
  const info = parseBuildinfo(body);
  if (signer.$case === 'unverified' && !trust.allowUnsigned) {
    const confirmed = trust.confirmDebs ? await trust.confirmDebs(info) : false;
    if (!confirmed) {
      throw new ReprodError('UNTRUSTED_SIGNER', `the buildinfo of ${info.source} ${info.version} is not signed by a key of trust.debian.keyrings, and its .deb digests are not confirmed by a verified archive index`, {
        details: { source: info.source, version: info.version },
      });
    }
  }
  const { debs, ...params } = info;
  return debianClaim({ params, debs: debs.map(({ name, sha256 }) => ({ name, sha256 })), signer, builderId: 'debian:buildinfo', attestation });
}
