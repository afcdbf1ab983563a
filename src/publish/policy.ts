import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { KeyObject } from 'node:crypto';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseSection } from '../config/load.ts';
import { ReprodError } from '../errors.ts';
import { keyIdOf, parsePublicKey } from './keys.ts';
import { parseTrustedRoot } from './verify-bundle.ts';

/**
 * A consumer's policy for `reprod verify`: which rebuilders they trust and
 * how many must agree. YAML; paths are relative to the policy file.
 *
 *   threshold: 2
 *   trustedRoot: ./trusted_root.json   # needed for identity rebuilders
 *   rebuilders:
 *     - { name: alice, key: ./alice.pub }
 *     - { name: carol, identity: https://…, issuer: https://… }
 */
const keyRebuilder = z.strictObject({ name: z.string().min(1), key: z.string().min(1) });
const identityRebuilder = z.strictObject({ name: z.string().min(1), identity: z.string().min(1), issuer: z.string().min(1) });

export const consumerPolicySchema = z
  .strictObject({
    threshold: z.number().int().min(1),
    rebuilders: z.array(z.union([keyRebuilder, identityRebuilder])).min(1),
    trustedRoot: z.string().min(1).optional(),
  })
  .refine((p) => p.threshold <= p.rebuilders.length, { message: 'threshold is larger than the number of rebuilders', path: ['threshold'] })
  .refine((p) => new Set(p.rebuilders.map((r) => r.name)).size === p.rebuilders.length, { message: 'rebuilder names must be unique', path: ['rebuilders'] })
  .refine((p) => p.trustedRoot !== undefined || p.rebuilders.every((r) => 'key' in r), {
    message: 'identity rebuilders need trustedRoot (a Sigstore trusted_root.json)',
    path: ['trustedRoot'],
  });

export type ConsumerPolicyFile = z.infer<typeof consumerPolicySchema>;

export type PolicyRebuilder =
  | { name: string; $case: 'key'; keyId: string; publicKey: KeyObject }
  | { name: string; $case: 'identity'; identity: string; issuer: string; trustedRoot: TrustedRoot };

export interface ConsumerPolicy {
  threshold: number;
  rebuilders: PolicyRebuilder[];
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new ReprodError('CONFIG_NOT_FOUND', `cannot read ${what} ${path}`, { cause: e });
  }
}

/** Loads and resolves a policy file: public keys parsed, key ids computed, trusted root read. */
export async function loadConsumerPolicy(path: string): Promise<ConsumerPolicy> {
  const text = await readText(path, 'policy file');
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new ReprodError('CONFIG_INVALID', `${path}: not valid YAML: ${(e as Error).message}`, { cause: e });
  }
  const file = parseSection(consumerPolicySchema, raw, path);
  const base = dirname(resolve(path));
  let root: TrustedRoot | undefined;
  if (file.trustedRoot !== undefined) {
    const rootPath = resolve(base, file.trustedRoot);
    let json: unknown;
    try {
      json = JSON.parse(await readText(rootPath, 'trusted root'));
    } catch (e) {
      if (e instanceof ReprodError) throw e;
      throw new ReprodError('TRUSTED_ROOT_INVALID', `${rootPath}: not JSON`, { cause: e });
    }
    root = parseTrustedRoot(json);
  }
  const rebuilders: PolicyRebuilder[] = [];
  for (const r of file.rebuilders) {
    if ('key' in r) {
      const keyPath = resolve(base, r.key);
      const publicKey = parsePublicKey(await readText(keyPath, `public key of ${r.name}`), keyPath);
      rebuilders.push({ name: r.name, $case: 'key', keyId: keyIdOf(publicKey), publicKey });
    } else {
      rebuilders.push({ name: r.name, $case: 'identity', identity: r.identity, issuer: r.issuer, trustedRoot: root! });
    }
  }
  // One signer under two names would count twice towards the threshold.
  const signers = rebuilders.map((r) => (r.$case === 'key' ? `key:${r.keyId}` : `id:${r.identity}\n${r.issuer}`));
  const dup = signers.findIndex((s, i) => signers.indexOf(s) !== i);
  if (dup >= 0) {
    throw new ReprodError('CONFIG_INVALID', `${path}: rebuilders.${dup}: ${rebuilders[dup]!.name} names the same signer as ${rebuilders[signers.indexOf(signers[dup]!)]!.name}`);
  }
  return { threshold: file.threshold, rebuilders };
}
