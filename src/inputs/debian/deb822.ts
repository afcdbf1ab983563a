/**
 * Debian's deb822 control format (Release, Packages, Sources, .dsc, .buildinfo)
 * and OpenPGP clear-signed documents. Parsing is pure; only `verifyClearsigned`
 * runs a process (gpgv).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReprodError, type ErrorCode } from '../../errors.ts';

/** One stanza. Field names as written; continuation lines kept, joined with '\n'. */
export type Paragraph = Record<string, string>;

/**
 * Paragraphs separated by blank lines; `#` comment lines dropped. A continuation
 * line (leading space or tab) is appended to the previous field with '\n' and
 * keeps its leading whitespace, as Checksums-Sha256 and Description need.
 */
export function parseDeb822(text: string): Paragraph[] {
  const out: Paragraph[] = [];
  let current: Paragraph | undefined;
  let last: string | undefined;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.replace(/\r$/, '');
    if (line.trim() === '') {
      current = undefined;
      last = undefined;
      continue;
    }
    if (line.startsWith('#')) continue;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (!current || last === undefined) {
        throw new ReprodError('ATTESTATION_MALFORMED', `deb822 line ${n + 1}: continuation line without a field`);
      }
      current[last] += '\n' + line;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ReprodError('ATTESTATION_MALFORMED', `deb822 line ${n + 1}: expected "Field: value"`);
    const name = line.slice(0, colon);
    if (!current) {
      current = {};
      out.push(current);
    }
    if (Object.prototype.hasOwnProperty.call(current, name)) {
      throw new ReprodError('ATTESTATION_MALFORMED', `deb822 line ${n + 1}: field ${name} repeated in one paragraph`);
    }
    current[name] = line.slice(colon + 1).trim();
    last = name;
  }
  return out;
}

/** A field by name, case-insensitively (deb822 field names are case-insensitive). */
export function field(p: Paragraph, name: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(p, name)) return p[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(p)) if (key.toLowerCase() === lower) return p[key];
  return undefined;
}

/** Lines of a multi-line field after its (usually empty) first line, trimmed, blanks dropped. */
export function fieldLines(p: Paragraph, name: string): string[] {
  const value = field(p, name);
  if (value === undefined) return [];
  return value.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

const BEGIN_SIGNED = '-----BEGIN PGP SIGNED MESSAGE-----';
const BEGIN_SIGNATURE = '-----BEGIN PGP SIGNATURE-----';
const END_SIGNATURE = '-----END PGP SIGNATURE-----';

/**
 * Splits a clear-signed document into its body (dash-escaping undone). Text
 * without any PGP armour is returned as unsigned. Strict, like apt: anything
 * outside the signed block (leading or trailing text, a second message) is
 * refused, because a verifier would sign off on bytes a parser never reads.
 */
export function splitClearsigned(text: string): { body: string; signed: boolean } {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (!text.includes('-----BEGIN PGP')) return { body: text, signed: false };
  if (lines[0] !== BEGIN_SIGNED) malformed('text before the signed message');
  let i = 1;
  // armour headers ("Hash: SHA512") up to the first blank line
  for (; i < lines.length && lines[i] !== ''; i++) {
    if (!/^[A-Za-z][A-Za-z0-9-]*: /.test(lines[i]!)) malformed(`bad armour header line ${i + 1}`);
  }
  if (i >= lines.length) malformed('no blank line after the armour headers');
  i++;
  const body: string[] = [];
  for (; i < lines.length && lines[i] !== BEGIN_SIGNATURE; i++) {
    const line = lines[i]!;
    if (line.startsWith('-')) {
      if (!line.startsWith('- ')) malformed(`unescaped dash line ${i + 1}`);
      body.push(line.slice(2));
    } else {
      body.push(line);
    }
  }
  if (i >= lines.length) malformed('no signature block');
  let end = i + 1;
  for (; end < lines.length && lines[end] !== END_SIGNATURE; end++) {
    if (lines[end]!.startsWith('-----')) malformed(`unexpected armour line ${end + 1}`);
  }
  if (end >= lines.length) malformed('signature block not closed');
  if (lines.slice(end + 1).some((l) => l.trim() !== '')) malformed('text after the signature');
  return { body: body.join('\n') + '\n', signed: true };
}

function malformed(why: string): never {
  throw new ReprodError('SIGNATURE_INVALID', `clear-signed document refused: ${why}`);
}

export interface VerifyOptions {
  /** The code thrown when the signature is bad or by no key of the keyrings (default SIGNATURE_INVALID). */
  code?: ErrorCode;
  /** What the document is, for messages ("InRelease of bookworm"). */
  what?: string;
  /** Called with the fingerprints of the keys whose signatures verified. */
  onVerified?: (fingerprints: string[]) => void;
}

/**
 * Verifies a clear-signed document with gpgv against the given keyring files
 * (binary or ASCII-armoured) and returns the signed body as gpgv itself
 * extracted it. Like apt, it is good when at least one signature is valid by a
 * key of the keyrings and none is bad; signatures by unknown keys are ignored
 * (Debian signs with several keys), expired or revoked keys do not count.
 */
export async function verifyClearsigned(text: string, keyrings: string[], options: VerifyOptions = {}): Promise<string> {
  const code = options.code ?? 'SIGNATURE_INVALID';
  const what = options.what ?? 'document';
  let split: { body: string; signed: boolean };
  try {
    split = splitClearsigned(text);
  } catch (e) {
    throw new ReprodError(code, `${what}: ${(e as Error).message}`, { cause: e });
  }
  if (!split.signed) throw new ReprodError(code, `${what} is not signed`);
  if (keyrings.length === 0) throw new ReprodError(code, `${what}: no keyring to verify it with`);
  const dir = await mkdtemp(join(tmpdir(), 'reprod-gpgv-'));
  try {
    const args = ['--homedir', dir, '--status-fd', '1', '--output', join(dir, 'body')];
    for (const [n, ring] of keyrings.entries()) args.push('--keyring', await binaryKeyring(ring, join(dir, `ring${n}.gpg`)));
    await writeFile(join(dir, 'doc.asc'), text);
    args.push(join(dir, 'doc.asc'));
    const { status, stderr } = await gpgv(args);
    const verdict = judgeStatus(status);
    if (!verdict.ok) {
      throw new ReprodError(code, `${what}: signature not accepted (${verdict.why})`, {
        details: { keyrings, gpgv: stderr.trim().split('\n').slice(-4) },
      });
    }
    options.onVerified?.(verdict.fingerprints);
    return await readFile(join(dir, 'body'), 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** apt's rule on gpgv's --status-fd lines. Exported for tests. */
export function judgeStatus(status: string): { ok: boolean; why: string; fingerprints: string[] } {
  const lines = status.split('\n').filter((l) => l.startsWith('[GNUPG:] ')).map((l) => l.slice(9).split(' '));
  const bad = lines.find((l) => ['BADSIG', 'EXPKEYSIG', 'REVKEYSIG', 'EXPSIG'].includes(l[0]!));
  const fingerprints = lines.filter((l) => l[0] === 'VALIDSIG').map((l) => l[1]!);
  const good = lines.some((l) => l[0] === 'GOODSIG');
  if (bad) return { ok: false, why: `${bad[0]} ${bad[1] ?? ''}`.trim(), fingerprints };
  if (!good || fingerprints.length === 0) {
    const missing = lines.filter((l) => l[0] === 'NO_PUBKEY').map((l) => l[1]);
    return { ok: false, why: missing.length ? `no key for ${missing.join(', ')}` : 'no valid signature', fingerprints };
  }
  return { ok: true, why: 'good', fingerprints };
}

function gpgv(args: string[]): Promise<{ status: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('gpgv', args, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      // a non-zero exit is normal when one of several signatures is by an unknown key
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
        reject(new ReprodError('SETUP_FAILED', `cannot run gpgv (install the gpgv package; \`reprod setup --test-tools\`)`, { cause: err }));
        return;
      }
      resolve({ status: String(stdout), stderr: String(stderr) });
    });
  });
}

/** gpgv reads binary keyrings only; an armoured one (.asc) is de-armoured into `target`. */
async function binaryKeyring(path: string, target: string): Promise<string> {
  const bytes = await readFile(path).catch((e: unknown) => {
    throw new ReprodError('CONFIG_INVALID', `keyring ${path} cannot be read`, { cause: e });
  });
  const head = bytes.subarray(0, 64).toString('latin1');
  if (!head.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) return path;
  const chunks: Buffer[] = [];
  const re = /-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n([\s\S]*?)-----END PGP PUBLIC KEY BLOCK-----/g;
  for (const m of bytes.toString('latin1').matchAll(re)) {
    const block = m[1]!.split(/\r?\n/);
    const blank = block.findIndex((l) => l.trim() === '');
    const data = block.slice(blank + 1).filter((l) => l.trim() !== '' && !l.startsWith('='));
    chunks.push(Buffer.from(data.join(''), 'base64'));
  }
  await writeFile(target, Buffer.concat(chunks));
  return target;
}
