/**
 * A throw-away PostgreSQL cluster for tests and benches: Debian's `postgresql`
 * is installed if missing (as root, so CI on a fresh machine gets it), `initdb`
 * runs into a temp dir, and the server listens on a free 127.0.0.1 port with its
 * unix socket inside the temp dir. fsync is off: the data is thrown away.
 *
 *   const pg = await startPostgres();          // in before()
 *   const url = await pg.createDatabase();    // a fresh database per store
 *   await pg.stop(); await pg.start();        // outage tests
 *   await pg.destroy();                       // in after()
 *
 * Postgres refuses to run as root, so as root the server binaries run as the
 * `postgres` system user (created by the Debian package) via runuser.
 */
import { execFile, execFileSync, type ExecFileOptions } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface TestPostgres {
  /** URL of the `postgres` database (superuser `postgres`, trust auth on loopback). */
  url: string;
  port: number;
  dir: string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** `pg_ctl stop -m fast`: every connection is cut, as in an outage. */
  stop(): Promise<void>;
  /** Starts the same cluster again on the same port. */
  start(): Promise<void>;
  /** Stops the server and removes its files. Safe to call twice. */
  destroy(): Promise<void>;
}

const isRoot = process.getuid?.() === 0;
let dbCounter = 0;

/** Newest server under /usr/lib/postgresql/<major>/bin, or undefined. */
export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return majors.length ? join(root, majors[0]!, 'bin') : undefined;
}

/** Installs Debian's postgresql when it is missing. Serialised by flock: test files run in parallel. */
export async function ensurePostgresInstalled(): Promise<string> {
  const found = findPostgresBin();
  if (found) return found;
  if (!isRoot) {
    throw new Error('PostgreSQL server binaries not found: run `apt-get install -y postgresql` as root');
  }
  const lock = join(tmpdir(), 'reprod-apt-postgresql.lock');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const opts: ExecFileOptions = { env, maxBuffer: 64 * 1024 * 1024 };
  const install = ['flock', lock, 'apt-get', 'install', '-y', '--no-install-recommends', 'postgresql'];
  try {
    await run(install[0]!, install.slice(1), opts);
  } catch {
    // A fresh machine may have no package lists yet.
    await run('flock', [lock, 'apt-get', 'update'], opts);
    await run(install[0]!, install.slice(1), opts);
  }
  const bin = findPostgresBin();
  if (!bin) throw new Error('apt-get installed postgresql but no server binaries were found');
  return bin;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Runs a server binary as the postgres user when we are root. */
async function asPostgres(bin: string, args: string[]): Promise<void> {
  const [cmd, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  try {
    await run(cmd, argv, { maxBuffer: 16 * 1024 * 1024 });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${bin} ${args.join(' ')} failed: ${err.stderr || err.stdout || err.message}`);
  }
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = await ensurePostgresInstalled();
  const dir = await mkdtemp(join(tmpdir(), 'reprod-pg-'));
  if (isRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  await asPostgres(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);

  let port = 0;
  let running = false;
  const start = async (): Promise<void> => {
    const opts = [
      `-p ${port}`,
      `-k ${dir}`,
      `-c listen_addresses=127.0.0.1`,
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=200',
    ].join(' ');
    await asPostgres(join(bin, 'pg_ctl'), ['start', '-D', data, '-w', '-t', '60', '-l', log, '-o', opts]);
    running = true;
  };
  // The free port may be taken between probe and bind: try a few.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await start();
      break;
    } catch (e) {
      if (attempt >= 4) {
        const tail = await readFile(log, 'utf8').catch(() => '');
        throw new Error(`${(e as Error).message}\n${tail.slice(-2000)}`);
      }
    }
  }

  // A test process that dies without after() must not leave a server running.
  const onExit = (): void => {
    if (!running) return;
    const stop = [join(bin, 'pg_ctl'), 'stop', '-D', data, '-m', 'immediate'];
    try {
      execFileSync(isRoot ? 'runuser' : stop[0]!, isRoot ? ['-u', 'postgres', '--', ...stop] : stop.slice(1), { stdio: 'ignore' });
    } catch {
      // already gone
    }
  };
  process.once('exit', onExit);

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    dir,
    async createDatabase(name) {
      const db = name ?? `t${process.pid}_${++dbCounter}_${Date.now().toString(36)}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${db}"`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${db}`;
    },
    async stop() {
      if (!running) return;
      await asPostgres(join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'fast', '-w']);
      running = false;
    },
    start,
    async destroy() {
      process.off('exit', onExit);
      if (running) {
        await asPostgres(join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w']).catch(() => {});
        running = false;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
