/**
 * The daemon as a child process for crash and shutdown tests: `reprod daemon`
 * with the test ContainerRunner (real containers) instead of the full pipeline.
 * argv: CONFIG; env: DAEMON_TEST_IMAGE, DAEMON_TEST_RUN_ID, DAEMON_TEST_STAGING
 * (no DAEMON_TEST_IMAGE: the default runner, i.e. the real pipeline).
 * Prints one JSON line `{"url": …}` on stdout when ready.
 */
import { loadConfig } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { stopOnSignals } from '../../src/daemon/signals.ts';
import { createLogger } from '../../src/log/logger.ts';
import { ContainerRunner } from '../support/daemon.ts';

const loaded = loadConfig(process.argv[2]!);
const logger = createLogger({ format: 'json' });
// Without DAEMON_TEST_IMAGE the daemon runs its default runner: the real rebuild pipeline.
const runner = process.env.DAEMON_TEST_IMAGE
  ? new ContainerRunner({ image: process.env.DAEMON_TEST_IMAGE, stagingDir: process.env.DAEMON_TEST_STAGING!, runId: process.env.DAEMON_TEST_RUN_ID! })
  : undefined;
const daemon = await Daemon.start({ loaded, logger, ...(runner ? { runner } : {}) });
process.stdout.write(`${JSON.stringify({ url: daemon.url })}\n`);
await stopOnSignals(daemon, logger);
process.exit(0);
