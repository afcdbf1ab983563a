import { z } from 'zod';
import { postgresStoreSchema, workerLabelsSchema } from './store-postgres.ts';

/** Named defaults of the `daemon:` and `store:` sections. */
export const DEFAULT_LISTEN_HOST = '127.0.0.1';
export const DEFAULT_LISTEN_PORT = 8480;
export const DEFAULT_CONCURRENCY = 1;
/** A single node keeps one worker id across restarts, so it can reclaim its own leases at once. */
export const DEFAULT_WORKER_ID = 'local';
export const DEFAULT_LEASE_SECONDS = 60;
export const DEFAULT_HEARTBEAT_SECONDS = 15;
export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_RETRY_BASE_SECONDS = 5;
export const DEFAULT_RETRY_MAX_SECONDS = 600;
export const DEFAULT_SHUTDOWN_GRACE_SECONDS = 30;
export const DEFAULT_CLAIM_POLL_MS = 1000;
export const DEFAULT_FEED_INTERVAL_SECONDS = 10;
export const DEFAULT_FEED_MAX_BACKOFF_SECONDS = 600;
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
export const DEFAULT_HEADERS_TIMEOUT_SECONDS = 10;
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 30;
export const DEFAULT_WEBHOOK_RETRIES = 5;
/** Environment variable holding the API bearer token (wins over `daemon.api.token`). */
export const API_TOKEN_ENV = 'REPROD_API_TOKEN';
export const DEFAULT_SQLITE_FILE = 'reprod.db';

const feedName = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - (at most 64)');

export const directoryFeedSchema = z.strictObject({
  type: z.literal('directory'),
  /** Cursor key in the store; default: derived from the path. Renaming it re-reads the folder. */
  name: feedName.optional(),
  /** Folder watched for attestation files (bundles, DSSE, in-toto JSONL); relative to the config file. */
  path: z.string().min(1),
  /** Rescan period (a file-system watch also triggers a scan). */
  intervalSeconds: z.number().positive().default(DEFAULT_FEED_INTERVAL_SECONDS),
});

export const httpFeedSchema = z.strictObject({
  type: z.literal('http'),
  name: feedName.optional(),
  /** URL of an index: a JSON array or JSONL of attestation URLs or inline bundles. */
  url: z.url(),
  intervalSeconds: z.number().positive().default(DEFAULT_FEED_INTERVAL_SECONDS),
  /** Longest wait between polls after repeated errors (exponential backoff). */
  maxBackoffSeconds: z.number().positive().default(DEFAULT_FEED_MAX_BACKOFF_SECONDS),
});

export const DEFAULT_DEBIAN_FEED_INTERVAL_SECONDS = 900;

export const debianPackagesFeedSchema = z.strictObject({
  type: z.literal('debian-packages'),
  name: feedName.optional(),
  /** Source packages whose new versions are enqueued (their .debs, from the signed archive of rebuilders.debian.archive). */
  packages: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, 'a Debian source package name')).min(1),
  /** Binary architectures rebuilt per version (`all`: the arch-independent .debs). */
  architectures: z.array(z.string().regex(/^[a-z0-9-]+$/)).min(1).default(['amd64']),
  /** How often InRelease is fetched (the Packages index only when it changed). */
  intervalSeconds: z.number().positive().default(DEFAULT_DEBIAN_FEED_INTERVAL_SECONDS),
  maxBackoffSeconds: z.number().positive().default(DEFAULT_FEED_MAX_BACKOFF_SECONDS),
});

export const feedSchema = z.discriminatedUnion('type', [directoryFeedSchema, httpFeedSchema, debianPackagesFeedSchema]);

export const daemonSchema = z
  .strictObject({
    /** Jobs built at the same time. */
    concurrency: z.number().int().min(1).max(64).default(DEFAULT_CONCURRENCY),
    /** This node's id in leases; keep it stable for a single node, unique per process for scale-out. */
    workerId: z.string().min(1).default(DEFAULT_WORKER_ID),
    labels: workerLabelsSchema.optional(),
    leaseSeconds: z.number().positive().default(DEFAULT_LEASE_SECONDS),
    heartbeatSeconds: z.number().positive().default(DEFAULT_HEARTBEAT_SECONDS),
    /** Attempts for infrastructure errors (retryable codes); a mismatch is never retried. */
    maxAttempts: z.number().int().min(1).default(DEFAULT_MAX_ATTEMPTS),
    retryBaseSeconds: z.number().min(0).default(DEFAULT_RETRY_BASE_SECONDS),
    retryMaxSeconds: z.number().min(0).default(DEFAULT_RETRY_MAX_SECONDS),
    /**
     * Re-check a `not-reproduced` verdict once, this long after it (a new scheduled job;
     * the verdict itself stays final). Unset: no automatic re-checks.
     */
    recheckNotReproducedSeconds: z.number().positive().optional(),
    /** On SIGTERM running builds get this long to finish before they are handed back to the queue. */
    shutdownGraceSeconds: z.number().min(0).default(DEFAULT_SHUTDOWN_GRACE_SECONDS),
    /** How often an idle worker asks the store for work. */
    claimPollMs: z.number().int().min(10).default(DEFAULT_CLAIM_POLL_MS),
    feeds: z.array(feedSchema).default([]),
    /** Output tree (`<outDir>/<sha256>/…`); default `<dataDir>/out`. */
    outDir: z.string().min(1).optional(),
    /** Hash-chained audit log; default `<dataDir>/audit.jsonl`. */
    auditLog: z.string().min(1).optional(),
    webhook: z
      .strictObject({
        url: z.url(),
        retries: z.number().int().min(0).default(DEFAULT_WEBHOOK_RETRIES),
      })
      .optional(),
    /** Upload the signed attestations to this Rekor instance too. */
    rekorUrl: z.url().optional(),
    api: z
      .strictObject({
        /** Loopback by default: put a TLS proxy in front to expose it. */
        host: z.string().min(1).default(DEFAULT_LISTEN_HOST),
        /** 0 picks a free port (printed at start-up). */
        port: z.number().int().min(0).max(65535).default(DEFAULT_LISTEN_PORT),
        /** Bearer token for write endpoints; prefer the REPROD_API_TOKEN environment variable. */
        token: z.string().min(16, 'at least 16 characters').optional(),
        maxBodyBytes: z.number().int().positive().default(DEFAULT_MAX_BODY_BYTES),
        headersTimeoutSeconds: z.number().positive().default(DEFAULT_HEADERS_TIMEOUT_SECONDS),
        requestTimeoutSeconds: z.number().positive().default(DEFAULT_REQUEST_TIMEOUT_SECONDS),
      })
      .prefault({}),
  })
  .refine((d) => d.heartbeatSeconds < d.leaseSeconds, { message: 'heartbeatSeconds must be shorter than leaseSeconds', path: ['heartbeatSeconds'] });

export const storeSchema = z
  .strictObject({
    /** The embedded store (default): one SQLite file. */
    sqlite: z.strictObject({ path: z.string().min(1).default(DEFAULT_SQLITE_FILE) }).optional(),
    /** The scale-out store: a shared PostgreSQL. */
    postgres: postgresStoreSchema.optional(),
  })
  .refine((s) => !(s.sqlite && s.postgres), { message: 'set only one of store.sqlite or store.postgres' });

export type DaemonConfig = z.infer<typeof daemonSchema>;
export type FeedConfig = z.infer<typeof feedSchema>;
export type StoreConfig = z.infer<typeof storeSchema>;
