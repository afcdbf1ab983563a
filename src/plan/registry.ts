import { REBUILDERS } from '../../rebuilders/index.ts';
import { ReprodError } from '../errors.ts';
import type { Rebuilder } from './rebuilder.ts';

/** Picks the rebuilder for a provenance buildType; an unknown one is UNKNOWN_BUILD_TYPE. */
export function rebuilderFor(buildType: string, rebuilders: readonly Rebuilder[] = REBUILDERS): Rebuilder {
  const found = rebuilders.find((r) => r.buildTypes.includes(buildType));
  if (found) return found;
  throw new ReprodError('UNKNOWN_BUILD_TYPE', `no rebuilder for buildType ${JSON.stringify(buildType)}`, {
    details: { buildType, known: rebuilders.flatMap((r) => r.buildTypes) },
  });
}
