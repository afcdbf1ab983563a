import { join } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_DATA_DIR } from '../config/defaults.ts';
import type { RegisterCommand } from './commands.ts';

/** Where `reprod demo` works unless told otherwise. */
export const DEFAULT_DEMO_DIR = join(DEFAULT_DATA_DIR, 'demo');

export const register: RegisterCommand = (program: Command) => {
  program
    .command('demo')
    .description('Run the whole pipeline on built-in fixtures: reproducible and unreproducible C, tar and npm projects, and hostile attestations')
    .option('--dir <dir>', 'work folder (deleted and recreated)', DEFAULT_DEMO_DIR)
    .option('--only <cases>', 'comma-separated fixture cases to run (default: all)')
    .addHelpText('after', '\nExample:\n  npm run demo\n  reprod demo --only hello-c,tar-bad\n\nExit 0 when every verdict is the one the fixture was made to show.')
    .action(async (opts: { dir: string; only?: string }) => {
      const { runDemo } = await import('./demo-run.ts');
      process.exitCode = await runDemo({ dir: opts.dir, ...(opts.only ? { only: opts.only.split(',') } : {}) });
    });
};
