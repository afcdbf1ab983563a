import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { KeyObject } from 'node:crypto';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import { ReprodError } from '../errors.ts';
import { trustSchema, type TrustPolicy } from '../config/trust.ts';
import { parseSection } from '../config/load.ts';
import { keyIdOf, parsePublicKey } from '../publish/keys.ts';
import { parseTrustedRoot } from '../publish/verify-bundle.ts';

/**
 * Trust material: the policy plus everything it names, read once at the edge
 * (key files, trusted root) so that intake itself is pure.
 */

export interface TrustedKey {
  /** The id the policy gives it (reports use it). */
  id: string;
  /** reprod's key id (sha256 of the SPKI DER): what reprod's own bundles put in `hint`. */
  keyId: string;
  publicKey: KeyObject;
}

export interface TrustMaterial {
  policy: TrustPolicy;
  keys: TrustedKey[];
  /** Loaded on first keyless verification (the public-good root unless the policy names one). */
  trustedRoot: () => TrustedRoot;
}

const PUBLIC_GOOD = 'https://tuf-repo-cdn.sigstore.dev';

/** Sigstore's public-good trusted root, as embedded in @sigstore/tuf's seeds (no network). */
export function publicGoodRoot(): TrustedRoot {
  const require = createRequire(import.meta.url);
  const seeds = require('@sigstore/tuf/seeds.json') as Record<string, { targets?: Record<string, string> }>;
  const b64 = seeds[PUBLIC_GOOD]?.targets?.['trusted_root.json'];
  if (!b64) throw new ReprodError('TRUSTED_ROOT_INVALID', '@sigstore/tuf seeds hold no public-good trusted_root.json');
  return parseTrustedRoot(JSON.parse(Buffer.from(b64, 'base64').toString('utf8')));
}

/**
 * Every key in a trusted root must say from when it is valid; a missing start
 * is a malformed root, not an unbounded one (fail closed).
 */
function checkValidityStarts(json: unknown, path: string): void {
  const root = json as Record<string, Array<Record<string, unknown>> | undefined>;
  const parts: [string, string][] = [['tlogs', 'publicKey'], ['ctlogs', 'publicKey'], ['certificateAuthorities', ''], ['timestampAuthorities', '']];
  for (const [list, inner] of parts) {
    for (const [i, item] of (Array.isArray(root[list]) ? root[list]! : []).entries()) {
      const holder = (inner ? item?.[inner] : item) as { validFor?: { start?: unknown } } | undefined;
      if (!holder?.validFor || typeof holder.validFor.start !== 'string') {
        throw new ReprodError('TRUSTED_ROOT_INVALID', `${path}: ${list}[${i}] has no validFor.start`);
      }
    }
  }
}

export async function readTrustedRoot(path: string): Promise<TrustedRoot> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ReprodError('TRUSTED_ROOT_INVALID', `cannot read trusted root ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const json: unknown = JSON.parse(text);
    checkValidityStarts(json, path);
    return parseTrustedRoot(json);
  } catch (e) {
    if (e instanceof ReprodError) throw e;
    throw new ReprodError('TRUSTED_ROOT_INVALID', `${path} is not JSON`, { cause: e });
  }
}

export async function readTrustedKey(id: string, path: string): Promise<TrustedKey> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (e) {
    throw new ReprodError('KEY_INVALID', `cannot read trusted key ${id} at ${path}: ${(e as Error).message}`, { cause: e });
  }
  const publicKey = parsePublicKey(pem, `trusted key ${id}`);
  return { id, keyId: keyIdOf(publicKey), publicKey };
}

export interface LoadTrustOptions {
  /** More PEM files to trust (CLI --trust-key); their id is the file path. */
  extraKeys?: string[];
}

/** Reads the keys and root a `trust:` section names; paths resolve against baseDir. */
export async function loadTrustMaterial(raw: unknown, baseDir: string, opts: LoadTrustOptions = {}): Promise<TrustMaterial> {
  const policy = parseSection(trustSchema, raw ?? {}, 'config', ['trust']);
  const at = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const keys = await Promise.all(policy.keys.map((k) => readTrustedKey(k.id, at(k.path))));
  for (const path of opts.extraKeys ?? []) keys.push(await readTrustedKey(path, at(path)));
  const root = policy.trustedRoot ? await readTrustedRoot(at(policy.trustedRoot)) : undefined;
  let cached: TrustedRoot | undefined = root;
  return { policy, keys, trustedRoot: () => (cached ??= publicGoodRoot()) };
}
