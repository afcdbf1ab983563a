/**
 * `reprod daemon`: assembles store, runner, publisher, worker pool, feeds and API,
 * and takes them down in order. Start-up recovers from a crash: leases held by
 * this node's previous process are expired at once (single node, stable worker
 * id) or left to expire (scale-out), and the runner removes orphan containers.
 */
import { mkdir, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { join, resolve } from 'node:path';
import { configPath, type LoadedConfig } from '../config/load.ts';
import { API_TOKEN_ENV, DEFAULT_WORKER_ID, type DaemonConfig, type FeedConfig } from '../config/daemon.ts';
import { postgresUrl } from '../config/store-postgres.ts';
import { ReprodError, toReprodError } from '../errors.ts';
import { loadPrivateKey } from '../publish/keys.ts';
import type { Logger } from '../log/logger.ts';
import { AuditLog } from '../publish/audit.ts';
import { SqliteStore } from '../store/sqlite.ts';
import type { Job, Store } from '../store/types.ts';
import { createApi } from './api.ts';
import { DirectoryFeed } from './feeds/directory.ts';
import { HttpFeed } from './feeds/http.ts';
import { debianPackagesFeed } from './feeds/debian-packages-config.ts';
import type { Feed, FeedDeps } from './feeds/types.ts';
import { Metrics } from './metrics.ts';
import { WebhookNotifier } from './notify.ts';
import { auditedJobs, Publisher } from './publisher.ts';
import { RekorUploader } from './rekor.ts';
import type { JobRunner } from './runner.ts';
import { submissionsFor } from './subjects.ts';
import { WorkerPool } from './worker-pool.ts';
import { Election } from './election.ts';
import { hasWorkerRegistry, newWorkerId, WorkerPresence, workerLabels } from './workers-registry.ts';

export interface DaemonOptions {
  loaded: LoadedConfig;
  logger: Logger;
  /** Default: the rebuild pipeline (pipeline-runner.ts). */
  runner?: JobRunner;
  /** Default: from the `store:` section (SQLite file under dataDir). */
  store?: Store;
  /** Overrides `daemon.api.port` (tests pass 0). */
  port?: number;
}

/** Absolute paths the daemon writes, derived from the config. */
export function daemonPaths(loaded: LoadedConfig): { dataDir: string; outDir: string; stagingDir: string; reportsDir: string; auditLog: string; sqlite: string } {
  const dataDir = configPath(loaded, loaded.config.dataDir);
  const d = loaded.config.daemon;
  return {
    dataDir,
    outDir: d.outDir ? configPath(loaded, d.outDir) : join(dataDir, 'out'),
    stagingDir: join(dataDir, 'staging'),
    reportsDir: join(dataDir, 'reports'),
    auditLog: d.auditLog ? configPath(loaded, d.auditLog) : join(dataDir, 'audit.jsonl'),
    sqlite: resolve(dataDir, loaded.config.store.sqlite?.path ?? 'reprod.db'),
  };
}

export async function openStore(loaded: LoadedConfig, logger: Logger): Promise<Store> {
  const pgUrl = postgresUrl(loaded.config.store.postgres);
  if (pgUrl) {
    const { PostgresStore } = await import('../store/postgres.ts');
    return PostgresStore.open({ url: pgUrl, poolSize: loaded.config.store.postgres?.poolSize ?? 10, logger });
  }
  return SqliteStore.open(daemonPaths(loaded).sqlite);
}

/** The Rekor uploader for `daemon.rekorUrl`, signing with the configured key. */
async function rekorUploader(loaded: LoadedConfig, logger: Logger): Promise<RekorUploader | undefined> {
  const url = loaded.config.daemon.rekorUrl;
  if (!url) return undefined;
  const signing = loaded.config.signing;
  if (signing?.keyless) {
    logger.info('daemon.rekorUrl: keyless signing already logs every signature in its Rekor (signing.keyless.rekorUrl)');
    return undefined;
  }
  if (!signing?.key) throw new ReprodError('CONFIG_INVALID', 'daemon.rekorUrl needs signing.key: Rekor entries are made with the signing key');
  const key = await loadPrivateKey(configPath(loaded, signing.key));
  return new RekorUploader(url, key.publicKeyPem);
}

function feedName(f: FeedConfig): string {
  if (f.type === 'debian-packages') return f.name ?? `debian:${f.architectures.join(',')}:${f.packages.join(',')}`.slice(0, 200);
  return f.name ?? (f.type === 'directory' ? `dir:${f.path}` : `http:${f.url}`);
}

export class Daemon {
  readonly store: Store;
  readonly pool: WorkerPool;
  readonly metrics: Metrics;
  readonly #server: Server;
  /** The feeds this process runs now: all of them, or none while another daemon leads intake. */
  readonly #feeds: () => Feed[];
  readonly #election: Election | undefined;
  #presence: WorkerPresence | undefined;
  readonly #runner: JobRunner;
  readonly #audit: AuditLog;
  readonly #logger: Logger;
  readonly #config: DaemonConfig;
  #ready = false;
  #stopping: Promise<void> | undefined;

  private constructor(parts: { store: Store; pool: WorkerPool; metrics: Metrics; server: Server; feeds: () => Feed[]; election?: Election; runner: JobRunner; audit: AuditLog; logger: Logger; config: DaemonConfig }) {
    this.store = parts.store;
    this.pool = parts.pool;
    this.metrics = parts.metrics;
    this.#server = parts.server;
    this.#feeds = parts.feeds;
    this.#election = parts.election;
    this.#runner = parts.runner;
    this.#audit = parts.audit;
    this.#logger = parts.logger;
    this.#config = parts.config;
  }

  static async start(options: DaemonOptions): Promise<Daemon> {
    const { loaded, logger } = options;
    const cfg = loaded.config.daemon;
    const paths = daemonPaths(loaded);
    await mkdir(paths.dataDir, { recursive: true });
    await mkdir(paths.outDir, { recursive: true });
    const store = options.store ?? (await openStore(loaded, logger));
    if (!options.runner && !loaded.config.signing) {
      logger.error('no signing: section: verdicts cannot be signed, so every job will end in error (set signing.key, see `reprod keys generate`)');
    }
    const runner: JobRunner =
      options.runner ?? (await (await import('./pipeline-runner.ts')).createPipelineRunner({ loaded, logger, stagingDir: paths.stagingDir }));

    // A shared (scale-out) store needs one id per process: the single-node default would
    // let two daemons expire each other's leases.
    const workerId = store.kind !== 'sqlite' && cfg.workerId === DEFAULT_WORKER_ID ? newWorkerId() : cfg.workerId;
    // Recovery: on a single node, this id's leases belong to a previous (killed) process: reclaim them now.
    const reclaimed = store.kind === 'sqlite' && store.expireLeasesOf ? await store.expireLeasesOf(workerId) : await store.reapExpired();
    if (reclaimed > 0) logger.warn({ reclaimed }, 'reclaimed jobs interrupted by a previous crash');
    // Staged files of unfinished attempts are never published: a single node drops them all.
    if (store.kind === 'sqlite') await rm(paths.stagingDir, { recursive: true, force: true });
    await runner.recover?.();

    const rekor = await rekorUploader(loaded, logger);
    const audited = await auditedJobs(paths.auditLog);
    const audit = await AuditLog.open(paths.auditLog);
    const metrics = new Metrics();
    const publisher = new Publisher({
      outDir: paths.outDir,
      reportsDir: paths.reportsDir,
      audit,
      audited,
      logger,
      ...(rekor ? { rekor } : {}),
      ...(cfg.webhook ? { webhook: new WebhookNotifier({ url: cfg.webhook.url, retries: cfg.webhook.retries }) } : {}),
    });
    const pool = new WorkerPool({
      store,
      runner,
      publisher,
      logger,
      metrics,
      workerId,
      concurrency: cfg.concurrency,
      leaseMs: cfg.leaseSeconds * 1000,
      heartbeatMs: cfg.heartbeatSeconds * 1000,
      claimPollMs: cfg.claimPollMs,
      retryBaseMs: cfg.retryBaseSeconds * 1000,
      retryMaxMs: cfg.retryMaxSeconds * 1000,
      ...(cfg.labels ? { labels: cfg.labels } : {}),
      ...(cfg.recheckNotReproducedSeconds !== undefined ? { recheckNotReproducedMs: cfg.recheckNotReproducedSeconds * 1000 } : {}),
    });

    const submit = async (bytes: Uint8Array, meta: { uri: string; source: string }): Promise<{ jobs: Job[]; created: number }> => {
      const inputs = submissionsFor(bytes, { ...meta, maxAttempts: cfg.maxAttempts });
      const results = store instanceof SqliteStore ? await store.submitMany(inputs) : await Promise.all(inputs.map((i) => store.submit(i)));
      const created = results.filter((r) => r.created).length;
      if (created > 0) {
        logger.info({ source: meta.source, uri: meta.uri, created }, 'attestation queued');
        pool.wake();
      }
      return { jobs: results.map((r) => r.job), created };
    };
    const feedDeps: FeedDeps = {
      store,
      submit: async (bytes, meta) => (await submit(bytes, meta)).created,
      onError: (feed, what, e) => {
        metrics.feedError(feed);
        const err = toReprodError(e);
        logger.warn({ feed, what, code: err.code, err: err.message }, 'feed: entry skipped or poll failed');
      },
    };
    const makeFeeds = (): Feed[] => cfg.feeds.map((f) =>
      f.type === 'directory'
        ? new DirectoryFeed({ name: feedName(f), path: configPath(loaded, f.path), intervalMs: f.intervalSeconds * 1000 }, feedDeps)
        : f.type === 'debian-packages'
          ? debianPackagesFeed(loaded, f, feedName(f), feedDeps)
          : new HttpFeed({ name: feedName(f), url: f.url, intervalMs: f.intervalSeconds * 1000, maxBackoffMs: f.maxBackoffSeconds * 1000 }, feedDeps),
    );

    const token = process.env[API_TOKEN_ENV] || cfg.api.token;
    let daemon: Daemon | undefined;
    const server = createApi({
      store,
      publisher,
      metrics,
      logger,
      running: () => pool.running,
      wake: () => pool.wake(),
      submit,
      ...(token ? { token } : {}),
      maxBodyBytes: cfg.api.maxBodyBytes,
      headersTimeoutMs: cfg.api.headersTimeoutSeconds * 1000,
      requestTimeoutMs: cfg.api.requestTimeoutSeconds * 1000,
      ready: () => daemon?.ready === true,
    });
    // Scale-out: N daemons share the queue, but only the one holding the advisory
    // lock runs the feeds (re-elected when its session dies), so a feed is not
    // ingested N times. A single node runs its feeds itself.
    let feeds: Feed[] = [];
    const startFeeds = (): void => {
      feeds = makeFeeds();
      for (const f of feeds) f.start();
    };
    const pgUrl = store.kind === 'postgres' && cfg.feeds.length > 0 ? postgresUrl(loaded.config.store.postgres) : undefined;
    const election = pgUrl
      ? new Election({
          url: pgUrl,
          name: 'feeds',
          logger,
          onElected: () => {
            logger.info({ workerId }, 'leading feed intake');
            startFeeds();
          },
          onDemoted: () => {
            const old = feeds;
            feeds = [];
            void Promise.all(old.map((f) => f.stop()));
          },
        })
      : undefined;
    daemon = new Daemon({ store, pool, metrics, server, feeds: () => feeds, ...(election ? { election } : {}), runner, audit, logger, config: cfg });
    const port = options.port ?? cfg.api.port;
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(port, cfg.api.host, () => {
        server.off('error', fail);
        ok();
      });
    });
    pool.start();
    if (election) await election.start();
    else startFeeds();
    if (hasWorkerRegistry(store)) {
      daemon.#presence = new WorkerPresence(store, { id: workerId, labels: workerLabels(cfg.labels), isLeader: () => election?.isLeader ?? cfg.feeds.length > 0, logger });
      await daemon.#presence.start();
    }
    daemon.#ready = true;
    logger.info({ url: daemon.url, store: store.kind, workerId, concurrency: cfg.concurrency, feeds: cfg.feeds.map((f) => feedName(f)), feedLeader: election ? election.isLeader : true, writes: token ? 'token' : 'disabled' }, 'daemon started');
    return daemon;
  }

  /** Whether this process runs the feeds (always on a single node; the elected one on PostgreSQL). */
  get feedLeader(): boolean {
    return this.#election ? this.#election.isLeader : true;
  }

  /** True between a finished start-up and the beginning of a shutdown (/readyz). */
  get ready(): boolean {
    return this.#ready;
  }

  get url(): string {
    const a = this.#server.address() as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  /** Graceful stop: intake first, then running builds (grace period, then handed back), then the rest. */
  stop(graceMs = this.#config.shutdownGraceSeconds * 1000): Promise<void> {
    this.#stopping ??= (async () => {
      this.#ready = false;
      this.#logger.info({ graceMs, running: this.pool.running.length }, 'shutting down: intake stopped, waiting for running builds');
      await this.#election?.stop();
      await Promise.all(this.#feeds().map((f) => f.stop()));
      await this.pool.stop(graceMs);
      await new Promise<void>((ok) => {
        this.#server.close(() => ok());
        this.#server.closeAllConnections();
      });
      await this.#runner.close?.();
      await this.#audit.close();
      await this.#presence?.stop();
      await this.store.close();
      this.#logger.info('daemon stopped');
    })();
    return this.#stopping;
  }
}
