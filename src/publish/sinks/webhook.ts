import { setTimeout as sleep } from 'node:timers/promises';
import { ReprodError } from '../../errors.ts';
import type { Publication, Sink } from './types.ts';

/** Attempts in all (first try + retries). */
export const WEBHOOK_DEFAULT_ATTEMPTS = 5;
/** Backoff before retry n is BASE * 2^(n-1), capped at MAX; a Retry-After header wins when shorter than the cap. */
export const WEBHOOK_BACKOFF_BASE_MS = 500;
export const WEBHOOK_BACKOFF_MAX_MS = 30_000;
/** Each request's own time limit. */
export const WEBHOOK_REQUEST_TIMEOUT_MS = 15_000;
/** Statuses worth retrying: the receiver may accept the same request later. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export interface WebhookOptions {
  url: string;
  /** Extra request headers (e.g. `authorization`). */
  headers?: Record<string, string>;
  /** Default WEBHOOK_DEFAULT_ATTEMPTS. */
  attempts?: number;
  /** Default WEBHOOK_BACKOFF_BASE_MS. */
  backoffBaseMs?: number;
  /** Default WEBHOOK_BACKOFF_MAX_MS. */
  backoffMaxMs?: number;
  /** Default WEBHOOK_REQUEST_TIMEOUT_MS. */
  requestTimeoutMs?: number;
}

/** The JSON body the webhook receives. */
export function webhookBody(p: Publication): Record<string, unknown> {
  return {
    type: 'reprod.publication.v1',
    jobId: p.jobId,
    subject: p.subject,
    outcome: p.outcome,
    verdict: p.verdict,
    attestations: { vsa: p.vsa, provenance: p.provenance },
  };
}

function backoffMs(attempt: number, base: number, max: number, retryAfter: string | null): number {
  const exp = Math.min(max, base * 2 ** (attempt - 1));
  const seconds = retryAfter === null ? NaN : Number(retryAfter);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(max, seconds * 1000) : exp;
}

/** POSTs each publication as JSON; retries 408/429/5xx and network errors with backoff. */
export class WebhookSink implements Sink {
  readonly name = 'webhook';
  readonly #o: Required<WebhookOptions>;

  constructor(options: WebhookOptions) {
    const attempts = options.attempts ?? WEBHOOK_DEFAULT_ATTEMPTS;
    if (!Number.isInteger(attempts) || attempts < 1) throw new ReprodError('CONFIG_INVALID', `Expected webhook attempts to be an integer >= 1, got ${attempts}`);
    let url: URL;
    try {
      url = new URL(options.url);
    } catch (e) {
      throw new ReprodError('CONFIG_INVALID', `webhook url is not a URL: ${options.url}`, { cause: e });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ReprodError('CONFIG_INVALID', `webhook url must be http(s): ${options.url}`);
    this.#o = {
      url: options.url,
      headers: options.headers ?? {},
      attempts,
      backoffBaseMs: options.backoffBaseMs ?? WEBHOOK_BACKOFF_BASE_MS,
      backoffMaxMs: options.backoffMaxMs ?? WEBHOOK_BACKOFF_MAX_MS,
      requestTimeoutMs: options.requestTimeoutMs ?? WEBHOOK_REQUEST_TIMEOUT_MS,
    };
  }

  async publish(p: Publication, signal?: AbortSignal): Promise<void> {
    const body = JSON.stringify(webhookBody(p));
    const o = this.#o;
    let last = '';
    for (let attempt = 1; attempt <= o.attempts; attempt++) {
      let retryAfter: string | null = null;
      try {
        const timeout = AbortSignal.timeout(o.requestTimeoutMs);
        const res = await fetch(o.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...o.headers },
          body,
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
          redirect: 'error',
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return;
        last = `HTTP ${res.status}`;
        if (!isRetryableStatus(res.status)) {
          throw new ReprodError('PUBLISH_FAILED', `webhook ${o.url} refused the publication: ${last}`, { jobId: p.jobId, details: { status: res.status } });
        }
        retryAfter = res.headers.get('retry-after');
      } catch (e) {
        if (e instanceof ReprodError) throw e;
        if (signal?.aborted) throw new ReprodError('PUBLISH_FAILED', `webhook ${o.url}: aborted`, { cause: e, jobId: p.jobId });
        last = (e as Error).message;
      }
      if (attempt < o.attempts) await sleep(backoffMs(attempt, o.backoffBaseMs, o.backoffMaxMs, retryAfter), undefined, { signal });
    }
    throw new ReprodError('PUBLISH_FAILED', `webhook ${o.url} failed after ${o.attempts} attempts: ${last}`, {
      jobId: p.jobId,
      retryable: true,
      details: { attempts: o.attempts, last },
    });
  }
}
