import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { FulcioSigner, RekorWitness, TSAWitness, type IdentityProvider, type Witness } from '@sigstore/sign';
import type { KeylessConfig } from '../../config/signing.ts';
import { ReprodError } from '../../errors.ts';
import type { OutputSigner } from './types.ts';

/** Network timeout for each Fulcio / Rekor / TSA call. */
export const KEYLESS_TIMEOUT_MS = 30_000;
/** Retries of each Fulcio / Rekor / TSA call (the client retries 408/429/5xx only). */
export const KEYLESS_RETRIES = 2;

/**
 * The OIDC token is read at each signing, not at start-up: tokens are
 * short-lived and are refreshed in place by whoever provides them.
 */
export function tokenProvider(config: KeylessConfig, baseDir: string, env: NodeJS.ProcessEnv = process.env): IdentityProvider {
  return {
    async getToken(): Promise<string> {
      let token: string | undefined;
      if (config.tokenFile !== undefined) {
        const path = resolve(baseDir, config.tokenFile);
        try {
          token = (await readFile(path, 'utf8')).trim();
        } catch (e) {
          throw new ReprodError('SIGNING_FAILED', `cannot read OIDC token file ${path}`, { cause: e });
        }
      } else if (config.tokenEnv !== undefined) {
        token = env[config.tokenEnv]?.trim();
      }
      if (!token) {
        const from = config.tokenFile ?? `$${config.tokenEnv ?? '?'}`;
        throw new ReprodError('SIGNING_FAILED', `no OIDC token in ${from}`);
      }
      return token;
    },
  };
}

/** Keyless: a Fulcio certificate for the token's identity, logged in Rekor as an intoto entry. */
export function keylessSigner(config: KeylessConfig, baseDir: string, env: NodeJS.ProcessEnv = process.env): OutputSigner {
  const fetchOptions = { timeout: KEYLESS_TIMEOUT_MS, retry: KEYLESS_RETRIES };
  const witnesses: Witness[] = [new RekorWitness({ rekorBaseURL: config.rekorUrl, entryType: 'intoto', ...fetchOptions })];
  if (config.tsaUrl !== undefined) witnesses.push(new TSAWitness({ tsaBaseURL: config.tsaUrl, ...fetchOptions }));
  return {
    kind: 'keyless',
    description: `keyless via ${config.fulcioUrl}`,
    signer: new FulcioSigner({ fulcioBaseURL: config.fulcioUrl, identityProvider: tokenProvider(config, baseDir, env), ...fetchOptions }),
    witnesses,
  };
}
