import type { Command } from 'commander';
import { DEFAULT_BUILDER_IMAGE, DEFAULT_DOCKER_SOCKET } from '../config/defaults.ts';
import { EXIT_NEGATIVE, EXIT_OK } from './program.ts';
import type { RegisterCommand } from './commands.ts';

/** `reprod doctor`: reports what `reprod setup` would fix, changing nothing. */
export const register: RegisterCommand = (program: Command) => {
  program
    .command('doctor')
    .description('Check this machine without changing it: host tools (dockerd, mmdebstrap), the Docker engine, the builder image')
    .option('--socket <path>', 'Docker engine socket', process.env.REPROD_DOCKER_SOCKET ?? DEFAULT_DOCKER_SOCKET)
    .option('--image <name>', 'builder image recipe to look for', DEFAULT_BUILDER_IMAGE)
    .addHelpText('after', '\nExample:\n  reprod doctor\n\nExit 0 when all is ready, 1 when something is missing (`reprod setup` fixes it).')
    .action(async (opts: { socket: string; image: string }) => {
      const { which } = await import('../build/host-setup.ts');
      const { connectDocker } = await import('../build/docker.ts');
      const { loadRecipe, recipeTag } = await import('../build/recipe.ts');
      let ok = true;
      const line = (good: boolean, what: string, detail: string) => {
        ok &&= good;
        process.stdout.write(`${good ? 'ok     ' : 'MISSING'} ${what.padEnd(14)} ${detail}\n`);
      };
      for (const [tool, pkg] of [['dockerd', 'docker.io'], ['mmdebstrap', 'mmdebstrap']] as const) {
        const path = await which(tool);
        line(!!path, tool, path ?? `apt-get install -y ${pkg}`);
      }
      const docker = await connectDocker(opts.socket).catch((e: Error) => e);
      if (docker instanceof Error) {
        line(false, 'docker engine', docker.message);
        line(false, 'builder image', 'needs the engine');
      } else {
        const v = await docker.version();
        line(true, 'docker engine', `${v.Version} (API ${v.ApiVersion}) at ${opts.socket}`);
        const recipe = await loadRecipe(opts.image);
        const id = await docker.getImage(recipeTag(recipe)).inspect().then((i) => i.Id, () => undefined);
        line(!!id, 'builder image', id ? `${recipeTag(recipe)} ${id}` : `${recipeTag(recipe)} not built: reprod images build ${opts.image}`);
      }
      process.exitCode = ok ? EXIT_OK : EXIT_NEGATIVE;
    });
};
