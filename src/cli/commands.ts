import type { Command } from 'commander';
import type { CliContext } from './program.ts';

/** One entry per subcommand file; each adds its command to the program. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

export const commands: RegisterCommand[] = [];
