import type { Command } from 'commander';
import { DEFAULT_BUILDER_IMAGE, DEFAULT_DOCKER_SOCKET } from '../config/defaults.ts';
import type { RegisterCommand } from './commands.ts';

/** `reprod images build|list`: builder images from rebuilders/images/<name>.yaml. */
export const register: RegisterCommand = (program: Command) => {
  const images = program.command('images').description('Build and list reproducible builder images (recipes in rebuilders/images/)');
  images
    .command('build')
    .description(
      'Build a builder image from its recipe with mmdebstrap and print its image id (sha256:…). ' +
        'The same recipe and package versions always give the same id; an image already built ' +
        'from an unchanged recipe (tag reprod/NAME:<recipe hash>) is reused.',
    )
    .argument('[name]', 'recipe name (rebuilders/images/NAME.yaml)', DEFAULT_BUILDER_IMAGE)
    .option('--force', 'build even when an image for this recipe exists')
    .option('--json', 'print {imageId, ref, reused, seconds} as JSON')
    .option('--socket <path>', 'Docker engine socket', process.env.REPROD_DOCKER_SOCKET ?? DEFAULT_DOCKER_SOCKET)
    .addHelpText('after', '\nExamples:\n  reprod images build\n  reprod images build bookworm-build --force\n\nProgress goes to stderr, the image id to stdout.')
    .action(async (name: string, opts: { force?: boolean; json?: boolean; socket: string }) => {
      const { connectDocker } = await import('../build/docker.ts');
      const { buildImage } = await import('../build/images.ts');
      const docker = await connectDocker(opts.socket);
      const built = await buildImage(docker, name, {
        force: opts.force === true,
        onProgress: (step, detail) => process.stderr.write(`${name}: ${step}${detail ? ` ${detail}` : ''}\n`),
      });
      process.stderr.write(`${name}: ${built.ref} ${built.reused ? 'reused' : `built in ${built.seconds.toFixed(1)}s`}\n`);
      process.stdout.write(opts.json ? `${JSON.stringify(built)}\n` : `${built.imageId}\n`);
    });
  images
    .command('list')
    .description('List the recipes and the image id built from each (or "not built")')
    .option('--socket <path>', 'Docker engine socket', process.env.REPROD_DOCKER_SOCKET ?? DEFAULT_DOCKER_SOCKET)
    .addHelpText('after', '\nExample:\n  reprod images list')
    .action(async (opts: { socket: string }) => {
      const { readdir } = await import('node:fs/promises');
      const { RECIPES_DIR, loadRecipe, recipeTag } = await import('../build/recipe.ts');
      const { connectDocker } = await import('../build/docker.ts');
      const docker = await connectDocker(opts.socket);
      for (const file of (await readdir(RECIPES_DIR)).filter((f) => f.endsWith('.yaml')).sort()) {
        const recipe = await loadRecipe(file.slice(0, -5));
        const id = await docker.getImage(recipeTag(recipe)).inspect().then((i) => i.Id, () => 'not built');
        process.stdout.write(`${recipe.name}\t${recipeTag(recipe)}\t${id}\n`);
      }
    });
};
