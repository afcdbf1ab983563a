/**
 * `reprod daemon` with a no-op runner, for bench:scale: the daemon's own worker
 * pool, heartbeats, fenced complete and publisher (audit log) on PostgreSQL, with
 * no build. argv: CONFIG. Prints one JSON line `{"url": …}` on stdout when ready;
 * SIGTERM stops it gracefully.
 */
import { loadConfig } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { stopOnSignals } from '../../src/daemon/signals.ts';
import { createLogger } from '../../src/log/logger.ts';

const loaded = loadConfig(process.argv[2]!);
const logger = createLogger({ format: 'json' });
const daemon = await Daemon.start({ loaded, logger, runner: { run: async () => ({ outcome: 'reproduced' }) } });
process.stdout.write(`${JSON.stringify({ url: daemon.url })}\n`);
await stopOnSignals(daemon, logger);
process.exit(0);
