/**
 * HTTP feed: polls an index URL that lists attestations — a JSON array or JSONL,
 * each entry either a URL (absolute, or relative to the index) or an inline
 * attestation (a bundle / DSSE object). Conditional requests (ETag,
 * If-Modified-Since) keep polls cheap; errors back off exponentially.
 *
 * The cursor keeps the validators and the keys of entries already handled, so a
 * restart fetches nothing twice and an entry that failed to download is tried
 * again at the next poll. Attestation URLs must share the index's origin: an
 * index cannot make the daemon fetch from elsewhere (no SSRF through a feed).
 */
import { createHash } from 'node:crypto';
import { MAX_ATTESTATION_BYTES } from '../../attest/limits.ts';
import { ReprodError } from '../../errors.ts';
import { PollingFeed } from './polling.ts';
import type { FeedDeps } from './types.ts';

export const MAX_INDEX_BYTES = 16 * 1024 * 1024;
/** Entries remembered in the cursor; older ones are assumed gone from the index. */
export const MAX_SEEN_KEYS = 100_000;
export const FEED_REQUEST_TIMEOUT_MS = 30_000;

interface HttpCursor {
  etag?: string;
  lastModified?: string;
  seen: string[];
}

export interface HttpFeedOptions {
  name: string;
  url: string;
  intervalMs: number;
  maxBackoffMs: number;
}

export type IndexEntry = { $case: 'url'; url: string } | { $case: 'inline'; bytes: Uint8Array };

/** Parses an index body (pure). */
export function parseIndex(text: string): IndexEntry[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  let values: unknown[];
  if (trimmed.startsWith('[')) {
    const v = JSON.parse(trimmed) as unknown;
    if (!Array.isArray(v)) throw new ReprodError('ATTESTATION_MALFORMED', 'index is not a JSON array');
    values = v;
  } else {
    values = trimmed.split('\n').filter((l) => l.trim() !== '').map((l, i) => {
      try {
        return JSON.parse(l) as unknown;
      } catch {
        // A bare URL per line is JSONL's plainest cousin: accept it.
        if (/^https?:\/\/\S+$|^[^\s{[]+$/.test(l.trim())) return l.trim();
        throw new ReprodError('ATTESTATION_MALFORMED', `index line ${i + 1} is neither JSON nor a URL`);
      }
    });
  }
  return values.map((v, i) => {
    if (typeof v === 'string') return { $case: 'url', url: v };
    if (v !== null && typeof v === 'object' && typeof (v as { url?: unknown }).url === 'string' && Object.keys(v).length === 1) {
      return { $case: 'url', url: (v as { url: string }).url };
    }
    if (v !== null && typeof v === 'object') return { $case: 'inline', bytes: new TextEncoder().encode(JSON.stringify(v)) };
    throw new ReprodError('ATTESTATION_MALFORMED', `index entry ${i + 1} is neither a URL nor an attestation`);
  });
}

function entryKey(e: IndexEntry): string {
  return e.$case === 'url' ? `url:${e.url}` : `sha256:${createHash('sha256').update(e.bytes).digest('hex')}`;
}

async function readLimited(res: Response, limit: number, what: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    await res.body?.cancel();
    throw new ReprodError('ATTESTATION_TOO_LARGE', `${what} is ${declared} bytes, over ${limit}`);
  }
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of res.body ?? []) {
    n += (chunk as Uint8Array).byteLength;
    if (n > limit) throw new ReprodError('ATTESTATION_TOO_LARGE', `${what} is over ${limit} bytes`);
    chunks.push(chunk as Uint8Array);
  }
  return Buffer.concat(chunks);
}

export class HttpFeed extends PollingFeed {
  readonly #o: HttpFeedOptions;

  constructor(options: HttpFeedOptions, deps: FeedDeps) {
    super(options, deps);
    this.#o = options;
  }

  protected override get pollLabel(): string {
    return `poll ${new URL(this.#o.url).origin}`;
  }

  async #fetch(url: string, headers: Record<string, string> = {}): Promise<Response> {
    const signal = AbortSignal.any([this.signal, AbortSignal.timeout(FEED_REQUEST_TIMEOUT_MS)]);
    const res = await fetch(url, { headers, signal, redirect: 'error' });
    if (res.status !== 304 && !res.ok) {
      await res.body?.cancel();
      throw new ReprodError('FETCH_FAILED', `GET ${url}: HTTP ${res.status}`, { retryable: res.status === 429 || res.status >= 500 });
    }
    return res;
  }

  protected async pollOnce(): Promise<void> {
    const raw = await this.deps.store.getCursor(this.name);
    const cursor: HttpCursor = raw ? (JSON.parse(raw) as HttpCursor) : { seen: [] };
    const headers: Record<string, string> = {};
    if (cursor.etag) headers['if-none-match'] = cursor.etag;
    if (cursor.lastModified) headers['if-modified-since'] = cursor.lastModified;
    const res = await this.#fetch(this.#o.url, headers);
    if (res.status === 304) return;
    const text = new TextDecoder().decode(await readLimited(res, MAX_INDEX_BYTES, 'index'));
    const entries = parseIndex(text);
    const seen = new Set(cursor.seen);
    const origin = new URL(this.#o.url).origin;
    let failed = false;
    for (const entry of entries) {
      if (this.signal.aborted) return;
      const key = entryKey(entry);
      if (seen.has(key)) continue;
      try {
        let bytes: Uint8Array;
        let uri: string;
        if (entry.$case === 'url') {
          const url = new URL(entry.url, this.#o.url);
          if (url.origin !== origin) throw new ReprodError('SOURCE_NOT_ALLOWED', `index entry ${url.href} is outside the index's origin ${origin}`);
          uri = url.href;
          bytes = await readLimited(await this.#fetch(uri), MAX_ATTESTATION_BYTES, uri);
        } else {
          bytes = entry.bytes;
          uri = `${this.#o.url}#${key}`;
        }
        await this.deps.submit(bytes, { uri, source: this.name });
      } catch (e) {
        // A download that failed for a transient reason is tried again next poll; a bad entry is skipped for good.
        if (e instanceof ReprodError && (e.retryable || e.code === 'STORE_ERROR')) {
          failed = true;
          this.deps.onError(this.name, key, e);
          continue;
        }
        if (!(e instanceof ReprodError) && !this.signal.aborted) {
          failed = true;
          this.deps.onError(this.name, key, e);
          continue;
        }
        this.deps.onError(this.name, key, e);
      }
      seen.add(key);
      cursor.seen = [...seen].slice(-MAX_SEEN_KEYS);
      await this.deps.store.setCursor(this.name, JSON.stringify(cursor));
    }
    // Validators are kept only after a complete pass, so a partly failed index is fetched again in full.
    if (!failed) {
      const etag = res.headers.get('etag');
      const lastModified = res.headers.get('last-modified');
      const next: HttpCursor = { seen: [...seen].slice(-MAX_SEEN_KEYS), ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) };
      await this.deps.store.setCursor(this.name, JSON.stringify(next));
    } else {
      throw new ReprodError('FETCH_FAILED', `some entries of ${this.#o.url} could not be fetched; retrying with backoff`, { retryable: true });
    }
  }
}
