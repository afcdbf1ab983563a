import type { VerifiedClaim } from '../attest/types.ts';
import type { Config } from '../config/schema.ts';
import { planLimits } from '../plan/common.ts';
import { loadOverride } from '../plan/overrides.ts';
import type { PlanFacts, Rebuilder, SourceRef } from '../plan/rebuilder.ts';
import { rebuilderFor } from '../plan/registry.ts';
import type { BuildPlan } from '../plan/types.ts';
import { npmPackageId } from '../../rebuilders/npm/index.ts';
import { npmVersionFacts } from '../inputs/npm-registry.ts';

/**
 * Gathers the facts a rebuilder needs (I/O: override files, registry
 * metadata, the builder image id) and calls its pure `plan`.
 */
export interface PlanDeps {
  config: Config;
  /** Resolves an image name to its local id (`sha256:…`). */
  resolveImage: (name: string) => Promise<string>;
  signal?: AbortSignal;
  /** Debian: what the inputs stage found (source package, builder image). */
  debian?: PlanFacts['debian'];
}

export interface Planned {
  rebuilder: Rebuilder;
  source: SourceRef;
}

/** Picks the rebuilder and reads the source from the claim (pure; UNKNOWN_BUILD_TYPE, PLAN_INVALID). */
export function pickRebuilder(vc: VerifiedClaim): Planned {
  const rebuilder = rebuilderFor(vc.claim.buildType);
  return { rebuilder, source: rebuilder.source(vc) };
}

export async function makePlan(vc: VerifiedClaim, rebuilder: Rebuilder, commitTime: number, deps: PlanDeps): Promise<{ plan: BuildPlan; facts: PlanFacts }> {
  const facts: PlanFacts = { limits: planLimits(deps.config.limits), commitTime };
  const override = await loadOverride(rebuilder.name, rebuilder.overrideKey(vc));
  if (override) facts.override = override;
  if (deps.debian) facts.debian = deps.debian;
  if (rebuilder.name === 'npm') {
    const npmConfig = deps.config.rebuilders.npm;
    const image = npmConfig.image;
    facts.builderImage = { ref: image, digest: await deps.resolveImage(image) };
    if (npmConfig.imageTools) facts.imageTools = npmConfig.imageTools;
    if (npmConfig.registryMetadata) {
      const subject = vc.claim.subjects[0];
      if (subject) {
        const { name, version } = npmPackageId(subject.name);
        const npm = await npmVersionFacts(name, version, deps.signal);
        if (npm) facts.npm = npm;
      }
    }
  }
  return { plan: rebuilder.plan(vc, facts), facts };
}
