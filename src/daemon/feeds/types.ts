import type { Store } from '../../store/types.ts';

/** Hands attestation bytes to the queue; returns how many new jobs were created. */
export type SubmitBytes = (bytes: Uint8Array, meta: { uri: string; source: string }) => Promise<number>;

export interface FeedDeps {
  store: Pick<Store, 'getCursor' | 'setCursor'>;
  submit: SubmitBytes;
  /** Called with every failed poll or rejected file (logged and counted; never fatal). */
  onError: (feed: string, what: string, e: unknown) => void;
}

export interface Feed {
  readonly name: string;
  start(): void;
  /** Stops polling; resolves when an in-flight poll has finished. */
  stop(): Promise<void>;
  /** One pass now (tests, and the daemon's first scan). */
  poll(): Promise<void>;
}
