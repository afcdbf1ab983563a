import { setFlagsFromString } from 'node:v8';
import { Command, CommanderError } from 'commander';
import { ReprodError } from '../errors.ts';
import { register } from './diff.ts';

/**
 * `reprod diff` without loading every other command (Docker, Sigstore, the
 * stores …): start-up is a large share of a diff's time and memory. Same
 * command definition, same exit codes and error format as the full program.
 */
export async function mainDiff(argv: string[]): Promise<number> {
  // Streaming churns short-lived buffers: a young generation that does not grow keeps the peak RSS
  // ~45 MB lower on a 68 MB tar.gz pair (and is no slower); measured by `npm run bench:diff`.
  setFlagsFromString('--semi-space-growth-factor=1');
  const program = new Command('reprod').exitOverride().showHelpAfterError('(run with --help for usage)');
  register(program, { logger: () => { throw new ReprodError('INTERNAL', 'no logger in the diff fast path'); } });
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    const { reportError } = await import('./program.ts');
    return reportError(e);
  }
}
