import type { Command } from 'commander';
import { z } from 'zod';
import { loadConfig, parseSection } from '../config/load.ts';
import { POSTGRES_URL_ENV, postgresStoreSchema, postgresUrl } from '../config/store-postgres.ts';
import { DEFAULT_WORKER_STALE_MS } from '../daemon/workers-registry.ts';
import { ReprodError } from '../errors.ts';
import type { WorkerInfo } from '../store/pg-types.ts';
import { PostgresStore } from '../store/postgres.ts';
import type { RegisterCommand } from './commands.ts';
import { EXIT_OK } from './program.ts';

/** Only the part of `store` this command needs; the full section is validated by its owner. */
const storeSection = z.looseObject({ postgres: postgresStoreSchema.optional() });

function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

function inSeconds(iso: string, now: number): string {
  const s = Math.round((Date.parse(iso) - now) / 1000);
  return s >= 0 ? `${s}s` : `expired ${-s}s ago`;
}

/** The human table: one line per worker, one indented line per leased job. */
export function formatWorkers(workers: WorkerInfo[], now = Date.now()): string {
  if (workers.length === 0) return 'no live workers (start one with `reprod daemon --config FILE`; --all shows stopped ones)\n';
  const head = ['WORKER', 'HOST', 'PID', 'LABELS', 'SEEN', 'ROLE', 'JOBS'];
  const rows = workers.map((w) => [
    w.id,
    w.hostname,
    String(w.pid),
    [w.labels.arch?.length ? `arch=${w.labels.arch.join(',')}` : 'arch=any', w.labels.rebuilders?.length ? `rebuilders=${w.labels.rebuilders.join(',')}` : 'rebuilders=all'].join(' '),
    w.live ? ago(w.lastSeenAt, now) : w.stoppedAt ? 'stopped' : `gone (${ago(w.lastSeenAt, now)})`,
    w.leader ? 'feeds-leader' : 'worker',
    String(w.leases.length),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [line(head)];
  workers.forEach((w, i) => {
    out.push(line(rows[i]!));
    for (const l of w.leases) {
      out.push(`    job ${l.jobId} attempt ${l.attempt} ${l.subject}: running ${ago(l.startedAt, now).replace(' ago', '')}, lease ${inSeconds(l.expiresAt, now)}`);
    }
  });
  const jobs = workers.reduce((n, w) => n + w.leases.length, 0);
  out.push('', `${workers.filter((w) => w.live).length} live worker(s), ${jobs} leased job(s)`);
  return `${out.join('\n')}\n`;
}

export const register: RegisterCommand = (program: Command) => {
  program
    .command('workers')
    .description(
      'List the daemons (workers) sharing the PostgreSQL store: host, pid, labels (architectures and rebuilders ' +
        'they build), when each was last seen, which one leads feed intake, and the jobs each holds a lease on ' +
        `(attempt number, time running, lease expiry). Needs store.postgres in the config or ${POSTGRES_URL_ENV}.`,
    )
    .option('-c, --config <file>', 'config file with store.postgres.url')
    .option('--url <url>', `PostgreSQL URL (overrides the config and ${POSTGRES_URL_ENV})`)
    .option('--all', 'also list stopped workers and workers not seen recently', false)
    .option('--stale <seconds>', 'a worker not seen for this long counts as gone', String(DEFAULT_WORKER_STALE_MS / 1000))
    .option('--json', 'print JSON instead of a table', false)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  reprod workers --config /etc/reprod/config.yaml\n' +
        `  ${POSTGRES_URL_ENV}=postgres://reprod@db.internal/reprod reprod workers --all --json\n`,
    )
    .action(async (opts: { config?: string; url?: string; all: boolean; stale: string; json: boolean }) => {
      const staleSeconds = Number(opts.stale);
      if (!Number.isFinite(staleSeconds) || staleSeconds <= 0) {
        throw new ReprodError('USAGE', `--stale must be a number of seconds > 0, got ${opts.stale}`);
      }
      const loaded = opts.config === undefined ? undefined : loadConfig(opts.config);
      const store = loaded?.config.store === undefined ? undefined : parseSection(storeSection, loaded.config.store, opts.config!, ['store']);
      const url = opts.url ?? postgresUrl(store?.postgres);
      if (!url) {
        throw new ReprodError('USAGE', `no PostgreSQL store configured: set store.postgres.url, ${POSTGRES_URL_ENV} or --url (the SQLite store runs one daemon; its jobs are shown by \`reprod status\`)`);
      }
      const pg = await PostgresStore.open({ url, poolSize: 1 });
      try {
        const workers = await pg.listWorkers({ staleMs: staleSeconds * 1000, all: opts.all });
        process.stdout.write(opts.json ? `${JSON.stringify({ workers }, null, 2)}\n` : formatWorkers(workers));
      } finally {
        await pg.close();
      }
      process.exitCode = EXIT_OK;
    });
};
