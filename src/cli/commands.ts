import type { Command } from 'commander';
import type { CliContext } from './program.ts';
import { register as keys } from './keys.ts';
import { register as audit } from './audit.ts';
import { register as verify } from './verify.ts';
import { register as workers } from './workers.ts';
import { register as rebuild } from './rebuild.ts';
import { register as demo } from './demo.ts';
import { register as check } from './check.ts';
import { register as daemon } from './daemon.ts';
import { register as status } from './status.ts';
import { register as setup } from './setup.ts';
import { register as images } from './images.ts';
import { register as doctor } from './doctor.ts';
import { register as verifyBundle } from './verify-bundle.ts';
import { register as diff } from './diff.ts';

/** One entry per subcommand file; each adds its command to the program. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

export const commands: RegisterCommand[] = [keys, audit, verify, workers, rebuild, demo, check, daemon, status, setup, images, doctor, verifyBundle, diff];
