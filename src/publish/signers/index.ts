import { resolve } from 'node:path';
import type { SigningConfig } from '../../config/signing.ts';
import { ReprodError } from '../../errors.ts';
import { loadPrivateKey } from '../keys.ts';
import { KeySigner } from './key.ts';
import { keylessSigner } from './keyless.ts';
import type { OutputSigner } from './types.ts';

export type { OutputSigner } from './types.ts';
export { KeySigner } from './key.ts';
export { keylessSigner } from './keyless.ts';

/** Local-key signer from a private key file (mode checked). */
export async function keySigner(path: string): Promise<OutputSigner> {
  const signer = new KeySigner(await loadPrivateKey(path));
  return { kind: 'key', description: `key ${signer.keyId}`, keyId: signer.keyId, signer, witnesses: [] };
}

/** The signer the `signing:` config section describes; relative paths resolve against `baseDir`. */
export async function createSigner(config: SigningConfig | undefined, baseDir: string, env: NodeJS.ProcessEnv = process.env): Promise<OutputSigner> {
  if (config === undefined) {
    throw new ReprodError('CONFIG_INVALID', 'no signing section in the config: set signing.key (see `reprod keys generate`) or signing.keyless');
  }
  if (config.key !== undefined) return keySigner(resolve(baseDir, config.key));
  if (config.keyless !== undefined) return keylessSigner(config.keyless, baseDir, env);
  throw new ReprodError('CONFIG_INVALID', 'signing: set exactly one of signing.key or signing.keyless');
}
