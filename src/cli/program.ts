import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ReprodError, toReprodError } from '../errors.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import type { RegisterCommand } from './commands.ts';

export const EXIT_OK = 0;
/** "No": not reproduced, not trusted, different. */
export const EXIT_NEGATIVE = 1;
/** Could not answer: bad usage, bad input, infrastructure. */
export const EXIT_ERROR = 2;

export interface CliContext {
  logger(): Logger;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Files in src/cli that are not subcommands (importing `main` would run the CLI again). */
const NOT_COMMANDS = new Set(['main', 'program', 'commands']);

/**
 * The subcommands to register. `reprod NAME …` loads only src/cli/NAME.ts: each
 * command's imports (Docker, Sigstore, the stores …) cost start-up time, and
 * tests spawn the CLI often. Anything else (help, unknown names) loads them all.
 */
export async function registrations(argv: string[]): Promise<RegisterCommand[]> {
  const name = argv[2];
  if (name && /^[a-z][a-z-]*$/.test(name) && !NOT_COMMANDS.has(name)) {
    try {
      const mod = (await import(`./${name}.ts`)) as { register?: unknown };
      if (typeof mod.register === 'function') return [mod.register as RegisterCommand];
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    }
  }
  return (await import('./commands.ts')).commands;
}

export function buildProgram(commands: RegisterCommand[]): Command {
  let logger: Logger | undefined;
  const ctx: CliContext = { logger: () => (logger ??= createLogger()) };
  const program = new Command('reprod')
    .description(
      'Rebuild published artifacts from source in hermetic containers, compare the bytes, and sign ' +
        'the verdict ("independently reproduced", or a signed failure with a diff report).\n' +
        'Start with `reprod setup`, then `reprod rebuild ATTESTATION` or `reprod demo`; `reprod COMMAND --help` teaches each command.',
    )
    .version(version(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      '\nExit codes: 0 yes (reproduced / trusted / identical), 1 no, 2 error.\n' +
        'Errors carry a stable code, e.g. error[DOCKER_UNAVAILABLE].\n' +
        'Logs go to stderr (JSON, or readable on a terminal; REPROD_LOG_FORMAT=json|pretty).',
    );
  for (const register of commands) register(program, ctx);
  // The command list shows one line each; the full text is in `reprod COMMAND --help`.
  for (const c of program.commands) if (!c.summary()) c.summary(c.description().split(/(?<=\.)\s|\n/)[0]!);
  return program;
}

/** Prints a coded error the same way for every command. */
export function reportError(e: unknown): number {
  const err = toReprodError(e);
  process.stderr.write(`error[${err.code}]: ${err.message}\n`);
  if (err.hint) process.stderr.write(`  hint: ${err.hint}\n`);
  if (err.code === 'INTERNAL' && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  return EXIT_ERROR;
}

/** `reprod --help | head` closes the pipe early: stop quietly instead of crashing with EPIPE. */
function exitQuietlyOnEpipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT_OK);
      throw e;
    });
  }
}

export async function main(argv: string[]): Promise<number> {
  exitQuietlyOnEpipe();
  const program = buildProgram(await registrations(argv));
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with exitCode 0; usage errors were already printed.
      return e.exitCode === 0 ? EXIT_OK : EXIT_ERROR;
    }
    return reportError(e instanceof ReprodError ? e : e);
  }
}
