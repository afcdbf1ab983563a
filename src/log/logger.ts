import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /** 'json' always, 'pretty' always, 'auto' = pretty when stderr is a terminal. */
  format?: 'json' | 'pretty' | 'auto';
}

/**
 * The root logger. Logs go to stderr so that stdout stays free for command
 * output (`--json` verdicts, image ids) that scripts read.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.REPROD_LOG_LEVEL ?? 'info';
  const format = options.format ?? (process.env.REPROD_LOG_FORMAT as LoggerOptions['format']) ?? 'auto';
  const usePretty = format === 'pretty' || (format === 'auto' && process.stderr.isTTY === true);
  if (usePretty) {
    return pino({ level }, pretty({ colorize: true, destination: 2, sync: true, ignore: 'pid,hostname' }));
  }
  return pino({ level, base: undefined }, pino.destination({ dest: 2, sync: true }));
}

/** A child logger bound to one job: every line it writes carries the job id. */
export function jobLogger(root: Logger, jobId: string): Logger {
  return root.child({ jobId });
}

/** A logger that writes nothing, for tests and library callers. */
export const silentLogger: Logger = pino({ level: 'silent' });
