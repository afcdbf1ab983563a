/**
 * Leader election for work that must run on one daemon at a time (feed intake):
 * PostgreSQL's session advisory lock `pg_try_advisory_lock` held on a dedicated
 * connection. The lock lives exactly as long as that session, so a leader that
 * dies (kill -9, machine gone, network cut) releases it when Postgres notices the
 * session is gone, and another daemon's next try wins. No home-made protocol.
 *
 * The leader re-checks its connection every `intervalMs` (a `SELECT 1`); on any
 * error it steps down at once (onDemote) and reconnects with backoff, because a
 * broken session may already have lost the lock on the server side.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../log/logger.ts';
import { silentLogger } from '../log/logger.ts';

export const DEFAULT_ELECTION_INTERVAL_MS = 2000;
export const DEFAULT_ELECTION_MAX_BACKOFF_MS = 15_000;

export interface ElectionOptions {
  /** Connection URL of the shared PostgreSQL. */
  url: string;
  /** What is being elected for; different names are independent locks. Default `feeds`. */
  name?: string;
  /** How often a follower retries and a leader re-checks its session. Default 2000 ms. */
  intervalMs?: number;
  /** Called when this process becomes the leader. */
  onElected?: () => void;
  /** Called when this process stops being the leader (connection lost or stop()). */
  onDemoted?: () => void;
  logger?: Logger;
}

/** The 64-bit advisory lock key for a name: stable across processes and versions. */
export function advisoryKey(name: string): bigint {
  return createHash('sha256').update(`reprod:election:${name}`).digest().readBigInt64BE(0);
}

export class Election {
  readonly #opts: Required<Omit<ElectionOptions, 'onElected' | 'onDemoted' | 'logger'>> & ElectionOptions;
  readonly #key: string;
  readonly #log: Logger;
  #client: pg.Client | undefined;
  #leader = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;
  #ticking: Promise<void> = Promise.resolve();

  constructor(options: ElectionOptions) {
    const intervalMs = options.intervalMs ?? DEFAULT_ELECTION_INTERVAL_MS;
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
      throw new TypeError(`Expected \`intervalMs\` to be a finite number > 0, got ${intervalMs}`);
    }
    this.#opts = { ...options, name: options.name ?? 'feeds', intervalMs };
    this.#key = advisoryKey(this.#opts.name).toString();
    this.#log = (options.logger ?? silentLogger).child({ election: this.#opts.name });
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  /** Starts trying; resolves after the first attempt (leader or not). */
  async start(): Promise<void> {
    this.#stopped = false;
    await this.#tick();
  }

  /** Releases the lock (if held) and closes the session. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#ticking;
    const client = this.#client;
    this.#client = undefined;
    if (client) {
      if (this.#leader) await client.query('SELECT pg_advisory_unlock($1::bigint)', [this.#key]).catch(() => {});
      await client.end().catch(() => {});
    }
    this.#demote('stopped');
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#tick(), ms);
    this.#timer.unref();
  }

  #tick(): Promise<void> {
    this.#ticking = this.#attempt().then(
      () => {
        this.#failures = 0;
        this.#schedule(this.#opts.intervalMs);
      },
      (e: unknown) => {
        this.#failures++;
        this.#drop(e);
        const backoff = Math.min(this.#opts.intervalMs * 2 ** this.#failures, DEFAULT_ELECTION_MAX_BACKOFF_MS);
        this.#schedule(backoff);
      },
    );
    return this.#ticking;
  }

  async #attempt(): Promise<void> {
    if (this.#stopped) return;
    const client = this.#client ?? (await this.#connect());
    if (this.#leader) {
      await client.query('SELECT 1');
      return;
    }
    const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [this.#key]);
    if (r.rows[0]?.ok && !this.#stopped) {
      this.#leader = true;
      this.#log.info('elected');
      this.#opts.onElected?.();
    }
  }

  async #connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.#opts.url, application_name: `reprod-election-${this.#opts.name}` });
    // A dropped session means the server released the lock: step down now, not at the next tick.
    client.on('error', (e) => this.#drop(e));
    client.on('end', () => {
      if (this.#client === client) this.#drop(new Error('connection ended'));
    });
    await client.connect();
    this.#client = client;
    return client;
  }

  #drop(e: unknown): void {
    const client = this.#client;
    this.#client = undefined;
    client?.end().catch(() => {});
    if (this.#leader) this.#log.warn({ err: e }, 'lost leadership');
    this.#demote('connection lost');
  }

  #demote(_why: string): void {
    if (!this.#leader) return;
    this.#leader = false;
    this.#opts.onDemoted?.();
  }
}
