/**
 * The daemon's HTTP API on node:http. Reads are open (listen on loopback by
 * default); writes need the bearer token. Every error is `{error: {code, message}}`.
 *
 *   GET  /v1/jobs?state=&limit=        GET /v1/jobs/:id          POST /v1/jobs/:id/retry  POST /v1/jobs/:id/recheck
 *   GET  /v1/artifacts/:sha256         GET /v1/artifacts/:sha256/attestations
 *   GET  /v1/reports/:id.{json,html}   POST /v1/attestations     GET /healthz /readyz /metrics /
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { ReprodError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { PROVENANCE_FILE, VERDICT_FILE, VSA_FILE } from '../publish/sinks/directory.ts';
import { isJobState, type Job, type Store } from '../store/types.ts';
import { groupArtifacts, renderDashboard } from './dashboard.ts';
import { JOB_ID, readBody, SHA256, sendError, sendJson, sendText, tokenMatches } from './http-util.ts';
import type { Metrics } from './metrics.ts';
import type { Publisher } from './publisher.ts';

export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;
/** Jobs the dashboard reads (newest first). */
export const DASHBOARD_JOBS = 1000;

export interface ApiDeps {
  store: Store;
  publisher: Publisher;
  metrics: Metrics;
  logger: Logger;
  running: () => { job: Job; attempt: number; startedAt: string; progress?: string }[];
  submit: (bytes: Uint8Array, meta: { uri: string; source: string }) => Promise<{ jobs: Job[]; created: number }>;
  /** Claim at once instead of at the next poll. */
  wake?: () => void;
  /** Write endpoints are refused (401) when unset: no token, no writes. */
  token?: string;
  maxBodyBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  ready: () => boolean;
}

type Handler = (req: IncomingMessage, res: ServerResponse, params: string[], url: URL) => Promise<void>;

interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  write?: boolean;
  handler: Handler;
}

function badId(what: string): ReprodError {
  return new ReprodError('BAD_REQUEST', `not a valid ${what}`);
}

function notFound(what: string): ReprodError {
  return new ReprodError('NOT_FOUND', `${what} not found`);
}

export function createApi(deps: ApiDeps): Server {
  const routes: Route[] = [
    { method: 'GET', pattern: /^\/$/, handler: async (_q, res) => sendText(res, 200, 'text/html; charset=utf-8', await dashboard(deps), { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'" }) },
    { method: 'GET', pattern: /^\/healthz$/, handler: async (_q, res) => sendJson(res, 200, { status: 'ok' }) },
    {
      method: 'GET',
      pattern: /^\/readyz$/,
      handler: async (_q, res) => {
        const ok = deps.ready() && (await deps.store.countByState().then(() => true, () => false));
        sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : 'not ready' });
      },
    },
    {
      method: 'GET',
      pattern: /^\/metrics$/,
      handler: async (_q, res) => sendText(res, 200, 'text/plain; version=0.0.4; charset=utf-8', deps.metrics.render(await deps.store.countByState(), deps.running().length)),
    },
    {
      method: 'GET',
      pattern: /^\/v1\/jobs$/,
      handler: async (_q, res, _p, url) => {
        const state = url.searchParams.get('state') ?? undefined;
        if (state !== undefined && !isJobState(state)) throw new ReprodError('BAD_REQUEST', `state must be one of queued, running, done, error; got ${JSON.stringify(state)}`);
        const limit = Number(url.searchParams.get('limit') ?? DEFAULT_LIST_LIMIT);
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) throw new ReprodError('BAD_REQUEST', `limit must be an integer from 1 to ${MAX_LIST_LIMIT}`);
        const jobs = await deps.store.jobs({ ...(state ? { state } : {}), limit });
        sendJson(res, 200, { jobs });
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/jobs\/([^/]+)$/,
      handler: async (_q, res, [id]) => {
        if (!JOB_ID.test(id!)) throw badId('job id');
        const job = await deps.store.job(id!);
        if (!job) throw notFound(`job ${id}`);
        const attempts = deps.store.attempts ? await deps.store.attempts(id!) : [];
        const result = (job.result ?? {}) as Record<string, unknown>;
        const live = deps.running().find((r) => r.job.id === id);
        sendJson(res, 200, {
          job,
          ...(live?.progress ? { progress: live.progress } : {}),
          attempts,
          plan: result.plan ?? null,
          timings: { createdAt: job.createdAt, startedAt: job.startedAt ?? null, finishedAt: job.finishedAt ?? null, stages: result.timings ?? null },
        });
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\/jobs\/([^/]+)\/retry$/,
      write: true,
      handler: async (_q, res, [id]) => {
        if (!JOB_ID.test(id!)) throw badId('job id');
        const job = await deps.store.job(id!);
        if (!job) throw notFound(`job ${id}`);
        if (!deps.store.retry) throw new ReprodError('BAD_REQUEST', `the ${deps.store.kind} store cannot retry jobs`);
        const again = await deps.store.retry(id!);
        if (!again) throw new ReprodError('BAD_REQUEST', `job ${id} is ${job.outcome ?? job.state}: only jobs that ended in error are retried`);
        sendJson(res, 202, { job: again });
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\/jobs\/([^/]+)\/recheck$/,
      write: true,
      handler: async (_q, res, [id]) => {
        if (!JOB_ID.test(id!)) throw badId('job id');
        const job = await deps.store.job(id!);
        if (!job) throw notFound(`job ${id}`);
        if (!deps.store.scheduleRecheck) throw new ReprodError('BAD_REQUEST', `the ${deps.store.kind} store cannot schedule re-checks`);
        const re = await deps.store.scheduleRecheck(id!, 0);
        if (!re) throw new ReprodError('BAD_REQUEST', `job ${id} is ${job.state}, or its artifact already has a queued or running job: nothing to re-check now`);
        deps.wake?.();
        sendJson(res, 202, { job: re });
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/artifacts\/([^/]+)$/,
      handler: async (_q, res, [sha]) => {
        if (!SHA256.test(sha!)) throw badId('sha256 (64 lower-case hex digits)');
        const history = groupArtifacts(await deps.store.jobs({ subjectSha256: sha!, limit: MAX_LIST_LIMIT }))[0];
        if (!history) throw notFound(`artifact ${sha}`);
        sendJson(res, 200, {
          sha256: sha,
          name: history.name,
          latest: summary(history.latest),
          history: history.history.map(summary),
        });
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/artifacts\/([^/]+)\/attestations$/,
      handler: async (_q, res, [sha]) => {
        if (!SHA256.test(sha!)) throw badId('sha256 (64 lower-case hex digits)');
        const dir = deps.publisher.dirFor(sha!);
        const read = (f: string): Promise<unknown> => readFile(join(dir, f), 'utf8').then((t) => JSON.parse(t) as unknown, () => undefined);
        const [vsa, provenance, verdict] = await Promise.all([read(VSA_FILE), read(PROVENANCE_FILE), read(VERDICT_FILE)]);
        if (vsa === undefined && provenance === undefined) throw notFound(`attestations for ${sha}`);
        sendJson(res, 200, { sha256: sha, vsa: vsa ?? null, provenance: provenance ?? null, verdict: verdict ?? null });
      },
    },
    {
      method: 'GET',
      pattern: /^\/v1\/reports\/([^/]+)\.(json|html)$/,
      handler: async (_q, res, [id, ext]) => {
        if (!JOB_ID.test(id!)) throw badId('report id');
        const body = await readFile(deps.publisher.reportPath(id!, ext as 'json' | 'html')).catch(() => undefined);
        if (!body) throw notFound(`report ${id}.${ext}`);
        sendText(res, 200, ext === 'json' ? 'application/json; charset=utf-8' : 'text/html; charset=utf-8', body, ext === 'html' ? { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" } : {});
      },
    },
    {
      method: 'POST',
      pattern: /^\/v1\/attestations$/,
      write: true,
      handler: async (req, res) => {
        const bytes = await readBody(req, deps.maxBodyBytes);
        const { jobs, created } = await deps.submit(bytes, { uri: 'api:/v1/attestations', source: 'api' });
        sendJson(res, created > 0 ? 201 : 200, { created, jobs });
      },
    },
  ];

  // Timeouts are enforced on this check interval: keep it well under them.
  const connectionsCheckingInterval = Math.max(100, Math.min(1000, Math.floor(deps.headersTimeoutMs / 2)));
  const server = createServer({ connectionsCheckingInterval }, async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      // Decoded `..`, `/` or NUL inside an id never reach a handler: ids are matched on the raw path.
      if (/%2e|%2f|%5c|%00|\.\./i.test(url.pathname)) throw new ReprodError('BAD_REQUEST', 'path traversal refused');
      const matching = routes.filter((r) => r.pattern.test(url.pathname));
      if (matching.length === 0) throw notFound(`no endpoint ${url.pathname}`);
      const route = matching.find((r) => r.method === req.method);
      if (!route) {
        res.setHeader('allow', matching.map((r) => r.method).join(', '));
        sendError(res, new ReprodError('BAD_REQUEST', `method ${req.method} not allowed on ${url.pathname}`), 405);
        return;
      }
      if (route.write && (deps.token === undefined || !tokenMatches(req.headers.authorization, deps.token))) {
        res.setHeader('www-authenticate', 'Bearer');
        throw new ReprodError('UNAUTHORIZED', deps.token === undefined ? 'write endpoints are disabled: no API token is configured' : 'missing or wrong bearer token');
      }
      const params = route.pattern.exec(url.pathname)!.slice(1);
      await route.handler(req, res, params, url);
    } catch (e) {
      if (!(e instanceof ReprodError)) deps.logger.error({ err: e, url: req.url }, 'API request failed');
      sendError(res, e);
      // Refuse the rest of an oversized body instead of reading it.
      if (e instanceof ReprodError && e.code === 'PAYLOAD_TOO_LARGE') req.destroy();
    }
  });
  server.headersTimeout = deps.headersTimeoutMs;
  server.requestTimeout = deps.requestTimeoutMs;
  server.maxHeadersCount = 100;
  return server;
}

function summary(j: Job): Record<string, unknown> {
  const result = (j.result ?? {}) as { reports?: string[] };
  return {
    jobId: j.id,
    state: j.state,
    outcome: j.outcome ?? null,
    attempt: j.attempt,
    attestationSha256: j.attestationSha256,
    finishedAt: j.finishedAt ?? null,
    error: j.error ?? (j.result as { error?: unknown } | undefined)?.error ?? null,
    reports: (result.reports ?? []).map((r) => `/v1/reports/${j.id}.${r.endsWith('.html') ? 'html' : 'json'}`),
  };
}

async function dashboard(deps: ApiDeps): Promise<string> {
  const [jobs, counts, queued] = await Promise.all([
    deps.store.jobs({ limit: DASHBOARD_JOBS }),
    deps.store.countByState(),
    deps.store.jobs({ state: 'queued', limit: 50 }),
  ]);
  return renderDashboard({
    artifacts: groupArtifacts(jobs.filter((j) => j.state === 'done' || j.state === 'error')),
    running: deps.running(),
    queued,
    counts,
    generatedAt: new Date().toISOString(),
  });
}
