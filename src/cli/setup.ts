import type { Command } from 'commander';
import { DEFAULT_BUILDER_IMAGE, DEFAULT_DOCKER_SOCKET } from '../config/defaults.ts';
import type { RegisterCommand } from './commands.ts';

/** `reprod setup`: the first step of `npm test`, the demo and CI (root, no stdin). */
export const register: RegisterCommand = (program: Command) => {
  program
    .command('setup')
    .summary('Make this machine ready to rebuild: Docker engine, mmdebstrap, builder image')
    .description(
      "Make this machine ready to rebuild: install Debian's docker.io and mmdebstrap if missing " +
        '(root: apt-get; otherwise prints what to install and exits 2), start dockerd in the ' +
        'background if no engine answers, and build the default builder image if missing. ' +
        'Idempotent: takes seconds when everything is there.',
    )
    .option('--quiet', 'print only errors')
    .option('--no-image', 'skip building the builder image')
    .option('--test-tools', "also install the Debian packages reprod's test suite uses (postgresql, chromium, faketime, …)")
    .option('--image <name>', 'builder image recipe to build (rebuilders/images/NAME.yaml)', DEFAULT_BUILDER_IMAGE)
    .option('--socket <path>', 'Docker engine socket', process.env.REPROD_DOCKER_SOCKET ?? DEFAULT_DOCKER_SOCKET)
    .addHelpText('after', '\nExamples:\n  sudo reprod setup\n  reprod setup --quiet --no-image\n\nExit 0 when ready, 2 with error[CODE] when a step failed.')
    .action(async (opts: { quiet?: boolean; image: string | false; socket: string; testTools?: boolean }) => {
      const { runSetup } = await import('./setup-run.ts');
      await runSetup({ quiet: opts.quiet === true, image: opts.image === false ? undefined : opts.image, socket: opts.socket, testTools: opts.testTools === true });
    });
};
