import type { LoadedConfig } from '../config/load.ts';
import type { Logger } from '../log/logger.ts';
import { connectDocker } from '../build/docker.ts';
import { resolveImage } from '../build/images.ts';
import { intakeAttestation, loadTrustMaterial } from '../attest/index.ts';
import { createRebuildContext, type ContextParts, type RebuildContext } from './context.ts';
import { debianDocumentKind, intakeDebian, sharedArchive } from '../inputs/debian/intake.ts';

/**
 * Connects the pipeline to the real world from a config: the Docker engine,
 * the trust material intake verifies against, the signer. The CLI and the
 * daemon both start here.
 */
export interface WireOptions {
  loaded: LoadedConfig;
  logger: Logger;
  outDir: string;
  /** Extra trusted public key files (CLI --trust-key). */
  trustKeys?: string[];
  signingKey?: string;
  sinks?: ContextParts['sinks'];
  audit?: ContextParts['audit'];
}

export async function wireContext(opts: WireOptions): Promise<RebuildContext> {
  const { config } = opts.loaded;
  const docker = await connectDocker(config.docker.socket);
  const trust = await loadTrustMaterial(config.trust, opts.loaded.baseDir, { extraKeys: opts.trustKeys ?? [] });
  const archive = sharedArchive(config, opts.loaded.baseDir);
  return createRebuildContext({
    loaded: opts.loaded,
    docker,
    // Debian documents (.buildinfo, archive requests) are told from their content like every other format.
    intake: (bytes, uri) =>
      debianDocumentKind(bytes)
        ? intakeDebian(bytes, { config, baseDir: opts.loaded.baseDir, policy: trust.policy, archive }, uri)
        : intakeAttestation(bytes, trust, uri === undefined ? {} : { uri }),
    resolveImage: (name) => resolveImage(docker, name),
    logger: opts.logger,
    outDir: opts.outDir,
    ...(opts.signingKey ? { signingKey: opts.signingKey } : {}),
    ...(opts.sinks ? { sinks: opts.sinks } : {}),
    ...(opts.audit ? { audit: opts.audit } : {}),
  });
}
