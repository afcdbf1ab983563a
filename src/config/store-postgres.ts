import { z } from 'zod';

export const DEFAULT_PG_POOL_SIZE = 10;
/** Environment variable that overrides `store.postgres.url` (keeps passwords out of config files). */
export const POSTGRES_URL_ENV = 'REPROD_POSTGRES_URL';

/**
 * `store: { postgres: {...} }` selects the PostgreSQL store (scale-out: N daemons
 * share one database as queue and store). Owned by the scale-out part of reprod;
 * the store section's schema embeds it.
 */
export const postgresStoreSchema = z.strictObject({
  /** postgres://user[:password]@host[:port]/database — or set REPROD_POSTGRES_URL. */
  url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL').optional(),
  /** Connections in each daemon's pool (plus one for the feed election). */
  poolSize: z.number().int().positive().default(DEFAULT_PG_POOL_SIZE),
  // Leases and heartbeats are daemon.leaseSeconds / daemon.heartbeatSeconds, for either store.
});

/** Worker specialisation: which jobs this daemon may claim. */
export const workerLabelsSchema = z.strictObject({
  /** Debian architecture names this worker builds for; default: the machine's own. */
  arch: z.array(z.string().min(1)).optional(),
  /** Rebuilders this worker serves (container, npm, go, debian); default: all. */
  rebuilders: z.array(z.string().min(1)).optional(),
});

export type PostgresStoreConfig = z.infer<typeof postgresStoreSchema>;
export type WorkerLabelsConfig = z.infer<typeof workerLabelsSchema>;

/** The URL to use: the environment wins over the file. */
export function postgresUrl(cfg: PostgresStoreConfig | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[POSTGRES_URL_ENV] || cfg?.url;
}
