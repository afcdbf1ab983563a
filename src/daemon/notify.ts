/**
 * The daemon's webhook: one POST per verdict (`event: "verdict"`) and a distinct
 * `event: "regression"` when an artifact that was `reproduced` becomes
 * `not-reproduced`. Retries 408/429/5xx and network errors with backoff. The
 * `Idempotency-Key` header (job id + event) lets a receiver drop a repeat.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ReprodError } from '../errors.ts';
import { isRetryableStatus } from '../publish/sinks/webhook.ts';
import { retryDelayMs } from './backoff.ts';

export const NOTIFY_BACKOFF_BASE_MS = 500;
export const NOTIFY_BACKOFF_MAX_MS = 30_000;
export const NOTIFY_REQUEST_TIMEOUT_MS = 15_000;

export type NotifyEvent = 'verdict' | 'regression';

export interface Notification {
  event: NotifyEvent;
  jobId: string;
  attempt: number;
  subject: { name: string; sha256: string };
  outcome: string;
  previousOutcome?: string;
  attestationSha256: string;
  verdict?: unknown;
  attestations?: unknown;
}

export interface NotifierOptions {
  url: string;
  /** Retries after the first try. */
  retries: number;
  backoffBaseMs?: number;
  headers?: Record<string, string>;
}

export class WebhookNotifier {
  readonly #o: NotifierOptions;

  constructor(options: NotifierOptions) {
    this.#o = options;
  }

  async send(n: Notification, signal?: AbortSignal): Promise<void> {
    const body = JSON.stringify({ type: `reprod.${n.event}.v1`, ...n });
    let last: unknown;
    for (let attempt = 1; attempt <= this.#o.retries + 1; attempt++) {
      if (attempt > 1) await sleep(retryDelayMs(attempt - 1, this.#o.backoffBaseMs ?? NOTIFY_BACKOFF_BASE_MS, NOTIFY_BACKOFF_MAX_MS), undefined, signal ? { signal } : {});
      try {
        const res = await fetch(this.#o.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': `${n.jobId}:${n.event}`, ...this.#o.headers },
          body,
          signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(NOTIFY_REQUEST_TIMEOUT_MS)]) : AbortSignal.timeout(NOTIFY_REQUEST_TIMEOUT_MS),
        });
        await res.body?.cancel();
        if (res.ok) return;
        last = new Error(`HTTP ${res.status}`);
        if (!isRetryableStatus(res.status)) break;
      } catch (e) {
        if (signal?.aborted) throw e;
        last = e;
      }
    }
    throw new ReprodError('PUBLISH_FAILED', `webhook ${new URL(this.#o.url).origin} refused ${n.event} for job ${n.jobId}: ${(last as Error).message}`, {
      jobId: n.jobId,
      retryable: true,
      cause: last,
    });
  }
}
