import { z } from 'zod';

/**
 * `trust:` section: whose attestations reprod believes, and what it agrees to
 * rebuild. Fail closed: with an empty section nothing verifies, so nothing is
 * rebuilt.
 */
export const trustedKeySchema = z.strictObject({
  /** Id used in reports; a bundle's `publicKey.hint` or a DSSE `keyid` may name it. */
  id: z.string().min(1),
  /** PEM public key file (ECDSA P-256, Ed25519 or RSA); relative to the config file. */
  path: z.string().min(1),
});

export const trustedIdentitySchema = z
  .strictObject({
    /** Exact certificate identity (SAN): an email or a workflow URI. */
    identity: z.string().min(1).optional(),
    /** Regular expression the whole SAN must match (anchored). */
    identityPattern: z.string().min(1).optional(),
    /** OIDC issuer, exact, e.g. https://token.actions.githubusercontent.com */
    issuer: z.string().min(1),
  })
  .refine((i) => (i.identity === undefined) !== (i.identityPattern === undefined), {
    message: 'set exactly one of identity or identityPattern',
  });

/** `trust.debian`: who may sign `.buildinfo` files (see docs/debian.md). */
export const debianTrustSchema = z.strictObject({
  /** OpenPGP keyrings (binary or armoured) whose keys may sign buildinfo files; relative to the config file. */
  keyrings: z.array(z.string().min(1)).default([]),
  /**
   * Accept unsigned buildinfo files. Without it, an unsigned one is rebuilt only
   * when the archive's signed Packages index lists every .deb it names with the same sha256.
   */
  allowUnsignedBuildinfo: z.boolean().default(false),
});

export const trustSchema = z.strictObject({
  debian: debianTrustSchema.prefault({}),
  keys: z.array(trustedKeySchema).default([]),
  identities: z.array(trustedIdentitySchema).default([]),
  /** Allowed builder ids: exact, or a pattern when written /like this/. Empty: any. */
  builders: z.array(z.string().min(1)).default([]),
  /** Hosts sources may come from (https, git, ssh). Empty: any public host. */
  sourceHosts: z.array(z.string().min(1)).default([]),
  /** Allow file:// sources (tests, local mirrors). */
  allowFileSources: z.boolean().default(false),
  /** A Sigstore trusted_root.json; default: the public-good root shipped in @sigstore/tuf. */
  trustedRoot: z.string().min(1).optional(),
  /** Rekor entries a keyless signature needs. */
  tlogThreshold: z.number().int().min(0).default(1),
  /** Rebuild attestations whose signature cannot be checked. Never in production. */
  allowUnverified: z.boolean().default(false),
});

export type TrustPolicy = z.infer<typeof trustSchema>;
