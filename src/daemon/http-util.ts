/** Small node:http helpers: bounded bodies, JSON replies with error codes, token checks. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HINTS, ReprodError, toReprodError, type ErrorCode } from '../errors.ts';

const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  USAGE: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  ATTESTATION_MALFORMED: 422,
  ATTESTATION_TOO_LARGE: 413,
  UNSUPPORTED_FORMAT: 422,
  UNSUPPORTED_PREDICATE: 422,
  STORE_ERROR: 503,
};

export function statusOf(code: ErrorCode): number {
  return STATUS[code] ?? 500;
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...SECURITY_HEADERS });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, type: string, body: string | Uint8Array, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength, ...SECURITY_HEADERS, ...extra });
  res.end(body);
}

/** `{error: {code, message, hint?}}` with the status the code maps to. Internal details stay in the log. */
export function sendError(res: ServerResponse, e: unknown, status?: number): void {
  const err = toReprodError(e);
  const message = err.code === 'INTERNAL' ? 'internal error (see the daemon log)' : err.message;
  const hint = HINTS[err.code];
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status ?? statusOf(err.code), { error: { code: err.code, message, ...(hint ? { hint } : {}) } });
}

/** Reads a request body up to `limit` bytes; more is PAYLOAD_TOO_LARGE (checked before reading when declared). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) throw new ReprodError('PAYLOAD_TOO_LARGE', `request body is ${declared} bytes, over the limit of ${limit}`, { details: { limit } });
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of req) {
    n += (chunk as Buffer).length;
    if (n > limit) throw new ReprodError('PAYLOAD_TOO_LARGE', `request body is over the limit of ${limit} bytes`, { details: { limit } });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Constant-time comparison of a presented bearer token with the configured one. */
export function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  // Comparing digests keeps the time independent of both lengths and contents.
  const a = createHash('sha256').update(m?.[1] ?? '').digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b) && m !== null;
}

export const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
export const SHA256 = /^(?:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
