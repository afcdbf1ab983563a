/**
 * The PostgreSQL connection edge: a pg Pool whose failures become coded,
 * retryable STORE_ERRORs (an outage is infrastructure, the caller retries with
 * backoff) and a transaction helper. Idle clients that die while Postgres
 * restarts are dropped by the pool instead of crashing the process.
 */
import pg from 'pg';
import { ReprodError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { silentLogger } from '../log/logger.ts';

export const DEFAULT_PG_POOL_SIZE = 10;
export const DEFAULT_PG_CONNECT_TIMEOUT_MS = 5000;

/** SQLSTATE classes that mean "the server or connection went away", not "bad query". */
const TRANSIENT_SQLSTATE = /^(08|57P|53|40001|40P01)/;

export function isTransientPgError(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  if (typeof err?.code === 'string' && TRANSIENT_SQLSTATE.test(err.code)) return true;
  if (typeof err?.code === 'string' && /^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH|AI_AGAIN)$/.test(err.code)) return true;
  const msg = String(err?.message ?? '');
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(msg);
}

export function storeError(e: unknown, what: string): ReprodError {
  if (e instanceof ReprodError) return e;
  const transient = isTransientPgError(e);
  return new ReprodError('STORE_ERROR', `postgres: ${what}: ${(e as Error)?.message ?? String(e)}`, {
    cause: e,
    retryable: transient,
    details: { sqlstate: (e as { code?: string })?.code },
  });
}

/** Hides the password of a connection URL for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}

export function createPool(url: string, options: { max?: number; logger?: Logger; applicationName?: string } = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? DEFAULT_PG_POOL_SIZE,
    connectionTimeoutMillis: DEFAULT_PG_CONNECT_TIMEOUT_MS,
    application_name: options.applicationName ?? 'reprod',
  });
  const log = options.logger ?? silentLogger;
  // Without this listener an idle client killed by a server restart would crash the process.
  pool.on('error', (e) => log.warn({ err: e }, 'postgres idle connection lost'));
  return pool;
}

/** Runs fn in one transaction; rolls back on any error. */
export async function inTransaction<T>(pool: pg.Pool, what: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (e) {
    throw storeError(e, what);
  }
  let broken = false;
  // A checked-out client has no pool listener: a server restart mid-transaction
  // would emit an unhandled 'error' and crash the worker. The query rejects too,
  // which is what the caller sees (STORE_ERROR, retryable).
  const onError = (): void => {
    broken = true;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (e) {
    broken = isTransientPgError(e);
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw storeError(e, what);
  } finally {
    client.off('error', onError);
    // A client whose connection broke must not go back into the pool.
    client.release(broken ? true : undefined);
  }
}

export async function query<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  what: string,
  sql: string,
  params: unknown[] = [],
  /** A name makes it a prepared statement, planned once per connection. */
  name?: string,
): Promise<pg.QueryResult<R>> {
  try {
    return await (name ? pool.query<R>({ name, text: sql, values: params }) : pool.query<R>(sql, params));
  } catch (e) {
    throw storeError(e, what);
  }
}
