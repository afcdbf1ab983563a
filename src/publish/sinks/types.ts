import type { SerializedBundle } from '@sigstore/bundle';
import type { Subject } from '../../attest/types.ts';
import type { Outcome } from '../../compare/types.ts';

/** Everything published for one subject of a finished job. */
export interface Publication {
  jobId: string;
  subject: Subject;
  outcome: Outcome;
  /** Signed VSA bundle. */
  vsa: SerializedBundle;
  /** Signed rebuild provenance bundle. */
  provenance: SerializedBundle;
  /** The plain verdict (JSON) for people and dashboards. */
  verdict: unknown;
  /** Extra files (report.json, report.html …) by file name. */
  files?: Record<string, string | Uint8Array>;
}

/** Where publications go (a directory, a webhook, Rekor …). */
export interface Sink {
  readonly name: string;
  publish(publication: Publication, signal?: AbortSignal): Promise<void>;
}
