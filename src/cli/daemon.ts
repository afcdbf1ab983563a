import type { Command } from 'commander';
import { DEFAULT_LISTEN_HOST, DEFAULT_LISTEN_PORT, API_TOKEN_ENV } from '../config/daemon.ts';
import { loadConfig } from '../config/load.ts';
import { Daemon, daemonPaths } from '../daemon/daemon.ts';
import { stopOnSignals } from '../daemon/signals.ts';
import type { RegisterCommand } from './commands.ts';
import { EXIT_OK } from './program.ts';

/** `reprod daemon --config FILE`: watch feeds and keep rebuilding. */
export const register: RegisterCommand = (program: Command, ctx) => {
  program
    .command('daemon')
    .description(
      'Run reprod as a service: watch the configured feeds (a folder, an HTTP index) for attestations, queue one job per ' +
        '(attestation, subject) in a durable store, rebuild them in containers with bounded concurrency, and publish each ' +
        'verdict once (output tree, webhook, audit log). Serves the HTTP API, the dashboard and /metrics. ' +
        'SIGTERM drains: intake stops, running builds get daemon.shutdownGraceSeconds, the rest go back to the queue; exit 0. ' +
        'After a crash, the next start re-runs interrupted jobs.',
    )
    .requiredOption('-c, --config <file>', 'YAML config with the daemon:, store:, trust: and signing: sections (see config.example.yaml)')
    .option('--check-config', 'validate the config, print the effective daemon settings and exit', false)
    .option('--port <n>', `override daemon.api.port (default ${DEFAULT_LISTEN_PORT}; 0 picks a free port)`, (v) => Number.parseInt(v, 10))
    .addHelpText(
      'after',
      `\nThe API listens on ${DEFAULT_LISTEN_HOST}:${DEFAULT_LISTEN_PORT} by default; write endpoints need the bearer token from ` +
        `daemon.api.token or ${API_TOKEN_ENV}.\n\nExamples:\n  reprod daemon --config reprod.yaml --check-config\n  ${API_TOKEN_ENV}=$(cat token) reprod daemon --config reprod.yaml\n  curl -s localhost:${DEFAULT_LISTEN_PORT}/v1/jobs?state=running\n`,
    )
    .action(async (opts: { config: string; checkConfig: boolean; port?: number }) => {
      const loaded = loadConfig(opts.config);
      if (opts.checkConfig) {
        const d = loaded.config.daemon;
        const paths = daemonPaths(loaded);
        const token = process.env[API_TOKEN_ENV] ? `from ${API_TOKEN_ENV}` : d.api.token ? 'from the config file' : 'none (write endpoints disabled)';
        const out = {
          config: loaded.path,
          store: loaded.config.store.postgres ? 'postgres' : `sqlite ${paths.sqlite}`,
          api: `http://${d.api.host}:${opts.port ?? d.api.port}`,
          token,
          concurrency: d.concurrency,
          workerId: d.workerId,
          feeds: d.feeds.map((f) =>
            f.type === 'directory'
              ? `directory ${f.path} every ${f.intervalSeconds}s`
              : f.type === 'debian-packages'
                ? `debian-packages ${f.packages.join(',')} (${f.architectures.join(',')}) every ${f.intervalSeconds}s`
                : `http ${f.url} every ${f.intervalSeconds}s`,
          ),
          outDir: paths.outDir,
          auditLog: paths.auditLog,
          retries: `${d.maxAttempts} attempts, backoff ${d.retryBaseSeconds}s doubling up to ${d.retryMaxSeconds}s`,
          webhook: d.webhook ? new URL(d.webhook.url).origin : 'none',
          signing: loaded.config.signing?.key ? `key ${loaded.config.signing.key}` : loaded.config.signing?.keyless ? 'keyless' : 'NONE: every job will end in error until signing.key or signing.keyless is set',
        };
        process.stdout.write(`config ok\n${Object.entries(out).map(([k, v]) => `  ${k}: ${Array.isArray(v) ? (v.length ? v.join('; ') : 'none') : v}`).join('\n')}\n`);
        process.exitCode = EXIT_OK;
        return;
      }
      const logger = ctx.logger();
      const daemon = await Daemon.start({ loaded, logger, ...(opts.port !== undefined ? { port: opts.port } : {}) });
      process.stderr.write(`reprod daemon listening on ${daemon.url}\n`);
      await stopOnSignals(daemon, logger);
      process.exitCode = EXIT_OK;
    });
};
