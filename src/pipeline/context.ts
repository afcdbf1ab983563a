import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type Docker from 'dockerode';
import type { VerifiedClaim } from '../attest/types.ts';
import { configPath, type LoadedConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { DEFAULT_VERIFIER_ID } from '../config/signing.ts';
import type { SourcePolicy } from '../inputs/source-policy.ts';
import type { Logger } from '../log/logger.ts';
import { createSigner, DirectorySink, keySigner, type AuditLog, type OutputSigner, type Sink } from '../publish/index.ts';
import type { PublishContext } from './publish-stage.ts';

/**
 * Everything a rebuild needs from the outside world, created once per process
 * (the CLI) or per worker (the daemon) and shared by every job.
 */
export interface RebuildContext {
  config: Config;
  /** Absolute data folder (caches, job scratch). */
  dataDir: string;
  /** The config file's folder: relative paths in the config (keyrings) resolve against it. */
  baseDir?: string;
  docker: Docker;
  /** Parses and verifies attestation bytes under the trust policy (intake). */
  intake: (bytes: Uint8Array, uri?: string) => Promise<VerifiedClaim[]>;
  /** Image name or id -> local image id `sha256:…`. */
  resolveImage: (name: string) => Promise<string>;
  sourcePolicy: SourcePolicy;
  logger: Logger;
  publish: PublishContext;
}

export function reprodVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The source rules of the `trust:` section (sourceHosts, allowFileSources). */
export function sourcePolicyOf(config: Config): SourcePolicy {
  const trust = (config.trust ?? {}) as { sourceHosts?: unknown; allowFileSources?: unknown };
  return {
    sourceHosts: Array.isArray(trust.sourceHosts) ? trust.sourceHosts.filter((h): h is string => typeof h === 'string') : [],
    allowFileSources: trust.allowFileSources === true,
  };
}

export function policyDigest(config: Config): string {
  return createHash('sha256').update(JSON.stringify(config.trust ?? {})).digest('hex');
}

export interface ContextParts {
  loaded: LoadedConfig;
  docker: Docker;
  intake: RebuildContext['intake'];
  resolveImage: RebuildContext['resolveImage'];
  logger: Logger;
  outDir: string;
  /** A private key file that overrides `signing:` (CLI --signing-key). */
  signingKey?: string;
  signer?: OutputSigner;
  sinks?: Sink[];
  audit?: AuditLog;
}

/** Assembles a context; the signer comes from --signing-key, else the `signing:` section. */
export async function createRebuildContext(parts: ContextParts): Promise<RebuildContext> {
  const { config } = parts.loaded;
  const signer =
    parts.signer ??
    (parts.signingKey !== undefined ? await keySigner(resolve(parts.signingKey)) : await createSigner(config.signing, parts.loaded.baseDir));
  return {
    config,
    dataDir: configPath(parts.loaded, config.dataDir),
    baseDir: parts.loaded.baseDir,
    docker: parts.docker,
    intake: parts.intake,
    resolveImage: parts.resolveImage,
    sourcePolicy: sourcePolicyOf(config),
    logger: parts.logger,
    publish: {
      signer,
      verifierId: config.signing?.verifierId ?? DEFAULT_VERIFIER_ID,
      version: reprodVersion(),
      directory: new DirectorySink(resolve(parts.outDir)),
      ...(parts.sinks ? { sinks: parts.sinks } : {}),
      ...(parts.audit ? { audit: parts.audit } : {}),
      policyDigest: policyDigest(config),
    },
  };
}
