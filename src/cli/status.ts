import type { Command } from 'commander';
import { DEFAULT_LISTEN_HOST, DEFAULT_LISTEN_PORT } from '../config/daemon.ts';
import { loadConfig } from '../config/load.ts';
import { ReprodError } from '../errors.ts';
import { formatStatus } from '../daemon/status-text.ts';
import type { Job, JobState } from '../store/types.ts';
import type { RegisterCommand } from './commands.ts';
import { EXIT_OK } from './program.ts';

const REQUEST_TIMEOUT_MS = 10_000;

async function getJson<T>(base: string, path: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(new URL(path, base), { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (e) {
    throw new ReprodError('DAEMON_UNREACHABLE', `no daemon answers at ${base}: ${(e as Error).message}`, { cause: e });
  }
  const body = (await res.json().catch(() => ({}))) as T & { error?: { code: string; message: string } };
  if (!res.ok) throw new ReprodError('DAEMON_UNREACHABLE', `${path}: HTTP ${res.status} ${body.error ? `${body.error.code}: ${body.error.message}` : ''}`.trim());
  return body;
}

/** `reprod status`: the daemon's queue and recent verdicts, read from its API. */
export const register: RegisterCommand = (program: Command) => {
  program
    .command('status')
    .description('Show a running daemon\'s queue (running and queued jobs) and its most recent verdicts, read from its HTTP API.')
    .option('--url <url>', `daemon API base URL (default: from --config, else http://${DEFAULT_LISTEN_HOST}:${DEFAULT_LISTEN_PORT})`)
    .option('-c, --config <file>', 'take the API address from this config (daemon.api.host/port)')
    .option('-n, --limit <n>', 'recent verdicts to show', (v) => Number.parseInt(v, 10), 20)
    .option('--json', 'print the raw data as JSON', false)
    .addHelpText('after', '\nExamples:\n  reprod status\n  reprod status --config reprod.yaml --limit 50\n  reprod status --url http://127.0.0.1:8480 --json\n')
    .action(async (opts: { url?: string; config?: string; limit: number; json: boolean }) => {
      let base = opts.url;
      if (!base && opts.config) {
        const api = loadConfig(opts.config).config.daemon.api;
        base = `http://${api.host.includes(':') ? `[${api.host}]` : api.host}:${api.port}`;
      }
      base ??= `http://${DEFAULT_LISTEN_HOST}:${DEFAULT_LISTEN_PORT}`;
      const limit = Number.isInteger(opts.limit) && opts.limit > 0 ? Math.min(opts.limit, 1000) : 20;
      const [running, queued, done, failed] = await Promise.all(
        (['running', 'queued', 'done', 'error'] as const).map((state) => getJson<{ jobs: Job[] }>(base, `/v1/jobs?state=${state}&limit=${state === 'queued' ? 50 : limit}`).then((r) => r.jobs)),
      );
      const metrics = await fetch(new URL('/metrics', base)).then((r) => r.text()).catch(() => '');
      const counts: Record<JobState, number> = { queued: 0, running: 0, done: 0, error: 0 };
      for (const m of metrics.matchAll(/^reprod_jobs\{state="(\w+)"\} (\d+)$/gm)) counts[m[1] as JobState] = Number(m[2]);
      const recent = [...done!, ...failed!].sort((a, b) => (b.finishedAt ?? '').localeCompare(a.finishedAt ?? '')).slice(0, limit);
      const status = { url: base, counts, running: running!, queued: queued!, recent };
      process.stdout.write(opts.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
      process.exitCode = EXIT_OK;
    });
};
