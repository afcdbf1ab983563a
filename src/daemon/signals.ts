import type { Logger } from '../log/logger.ts';
import type { Daemon } from './daemon.ts';

/**
 * Runs until SIGTERM/SIGINT, then stops gracefully (intake off, running builds get
 * the grace period, the rest are handed back). A second signal exits at once; the
 * jobs' leases then expire and are reclaimed at the next start.
 */
export function stopOnSignals(daemon: Daemon, logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal: sig }, 'second signal: exiting now; unfinished jobs are reclaimed at the next start');
        process.exit(130);
      }
      stopping = true;
      logger.info({ signal: sig }, 'signal received: draining');
      void daemon.stop().then(resolve, (e: unknown) => {
        logger.error({ err: e }, 'shutdown failed');
        resolve();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
