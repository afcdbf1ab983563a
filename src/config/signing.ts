import { z } from 'zod';

/** Used when the config names no verifier id; deployments should set their own. */
export const DEFAULT_VERIFIER_ID = 'https://reprod.dev/verifier/local';

/**
 * `signing:` section. Exactly one of `key` (a local ECDSA P-256 PEM, the
 * default kind) or `keyless` (Fulcio + OIDC token + Rekor) says how outputs
 * are signed; `verifierId` is this rebuilder's id in the VSAs it signs.
 */
export const keylessSchema = z.strictObject({
  /** Fulcio base URL that issues the short-lived signing certificate. */
  fulcioUrl: z.url(),
  /** Rekor base URL the signature is logged in (entry type intoto). */
  rekorUrl: z.url(),
  /** RFC 3161 timestamp authority base URL; optional. */
  tsaUrl: z.url().optional(),
  /** File holding the OIDC identity token (read at signing time, so it may be refreshed). */
  tokenFile: z.string().min(1).optional(),
  /** Environment variable holding the OIDC identity token. */
  tokenEnv: z.string().min(1).optional(),
});

export const signingSchema = z
  .strictObject({
    /** Path of the PKCS#8 PEM private key (mode 0600); relative to the config file's folder. */
    key: z.string().min(1).optional(),
    keyless: keylessSchema.optional(),
    /** This rebuilder's id, written as `verifier.id` / `builder.id` in signed outputs. */
    verifierId: z.string().min(1).default(DEFAULT_VERIFIER_ID),
  })
  .refine((s) => (s.key === undefined) !== (s.keyless === undefined), {
    message: 'set exactly one of signing.key or signing.keyless',
  })
  .refine((s) => s.keyless === undefined || s.keyless.tokenFile !== undefined || s.keyless.tokenEnv !== undefined, {
    message: 'set tokenFile or tokenEnv (where the OIDC token comes from)',
    path: ['keyless'],
  });

export type SigningConfig = z.infer<typeof signingSchema>;
export type KeylessConfig = z.infer<typeof keylessSchema>;
