/**
 * Claim source (b): "rebuild Debian's SRC at VER for ARCH". The request is a
 * small deb822 document (what `reprod rebuild debian:SRC=VER/ARCH` writes and
 * the debian-packages feed submits):
 *
 *     Reprod-Request: debian-archive
 *     Source: hello
 *     Version: 2.10-3
 *     Architecture: amd64
 *     Checksums-Sha256:
 *      <sha256> <size> hello_2.10-3_amd64.deb
 *
 * The request itself is unsigned and trusted for nothing: Checksums-Sha256 is
 * only a hint (it lets the daemon split jobs by subject before intake). Intake
 * takes the .deb digests from the archive's signed Packages index and refuses
 * a request whose hint disagrees.
 */
import { ReprodError } from '../../errors.ts';
import { field, fieldLines, parseDeb822 } from './deb822.ts';

export const REQUEST_TYPE = 'debian-archive';

export interface DebianRequest {
  source: string;
  version: string;
  /** One binary architecture: `amd64` (arch-dependent .debs) or `all` (arch-independent ones). */
  architecture: string;
  /** Suite to read; default: the configured suites in order. */
  suite?: string;
  /** Hinted subjects (not trusted). */
  debs: Array<{ name: string; size: number; sha256: string }>;
}

const PACKAGE = /^[a-z0-9][a-z0-9+.-]+$/;
const VERSION = /^(?:[0-9]+:)?[0-9][0-9A-Za-z.+~-]*$/;
const ARCH = /^[a-z0-9-]+$/;
const SUITE = /^[A-Za-z0-9._-]+$/;

export function looksLikeDebianRequest(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 64)).toString('utf8').replace(/^\uFEFF/, '').startsWith(`Reprod-Request: ${REQUEST_TYPE}\n`);
}

function bad(message: string): ReprodError {
  return new ReprodError('ATTESTATION_MALFORMED', `debian request: ${message}`);
}

export function parseDebianRequest(text: string): DebianRequest {
  const ps = parseDeb822(text);
  if (ps.length !== 1) throw bad('expected exactly one paragraph');
  const p = ps[0]!;
  if (field(p, 'Reprod-Request') !== REQUEST_TYPE) throw bad(`Reprod-Request is not ${REQUEST_TYPE}`);
  const get = (name: string, re: RegExp): string => {
    const v = field(p, name)?.trim();
    if (!v || !re.test(v)) throw bad(`${name} ${JSON.stringify(v ?? '')} is missing or malformed`);
    return v;
  };
  const suite = field(p, 'Suite')?.trim();
  if (suite !== undefined && !SUITE.test(suite)) throw bad(`Suite ${JSON.stringify(suite)} is malformed`);
  const debs = fieldLines(p, 'Checksums-Sha256').map((line) => {
    const [sha256, size, name] = line.split(/\s+/);
    if (!sha256 || !/^[0-9a-f]{64}$/.test(sha256) || !/^\d+$/.test(size ?? '') || !name || name.includes('/')) throw bad(`Checksums-Sha256 line ${JSON.stringify(line)}`);
    return { name, size: Number(size), sha256 };
  });
  return { source: get('Source', PACKAGE), version: get('Version', VERSION), architecture: get('Architecture', ARCH), ...(suite ? { suite } : {}), debs };
}

export function formatDebianRequest(r: DebianRequest): string {
  const lines = [`Reprod-Request: ${REQUEST_TYPE}`, `Source: ${r.source}`, `Version: ${r.version}`, `Architecture: ${r.architecture}`];
  if (r.suite) lines.push(`Suite: ${r.suite}`);
  if (r.debs.length > 0) lines.push('Checksums-Sha256:', ...r.debs.map((d) => ` ${d.sha256} ${d.size} ${d.name}`));
  return lines.join('\n') + '\n';
}

/**
 * The CLI form `debian:SRC[=VERSION][/ARCH][@SUITE]`, e.g. `debian:hello=2.10-3/amd64`.
 * Without a version the archive's current one is used (resolved later); the
 * architecture defaults to amd64.
 */
export function parseRequestArgument(arg: string): { source: string; version?: string; architecture: string; suite?: string } | undefined {
  const m = /^debian:([^=/@]+)(?:=([^/@]+))?(?:\/([^@]+))?(?:@(.+))?$/.exec(arg);
  if (!m) return undefined;
  const [, source, version, architecture = 'amd64', suite] = m;
  if (!PACKAGE.test(source!)) throw new ReprodError('USAGE', `${arg}: ${JSON.stringify(source)} is not a Debian source package name`);
  if (version !== undefined && !VERSION.test(version)) throw new ReprodError('USAGE', `${arg}: ${JSON.stringify(version)} is not a Debian version`);
  if (!ARCH.test(architecture)) throw new ReprodError('USAGE', `${arg}: ${JSON.stringify(architecture)} is not an architecture`);
  if (suite !== undefined && !SUITE.test(suite)) throw new ReprodError('USAGE', `${arg}: ${JSON.stringify(suite)} is not a suite`);
  return { source: source!, architecture, ...(version ? { version } : {}), ...(suite ? { suite } : {}) };
}
