import { buildImage } from '../build/images.ts';
import { ensureEngine, installPackages, missingPackages, TEST_PACKAGES, uninstalled } from '../build/host-setup.ts';

export interface SetupOptions {
  quiet: boolean;
  /** Recipe to build; undefined with --no-image. */
  image: string | undefined;
  socket: string;
  /** Also install the host packages the test suite uses. */
  testTools?: boolean;
}

export async function runSetup(opts: SetupOptions): Promise<void> {
  const say = (line: string) => {
    if (!opts.quiet) process.stderr.write(`setup: ${line}\n`);
  };
  const started = performance.now();
  const missing = [...(await missingPackages()), ...(opts.testTools ? await uninstalled(TEST_PACKAGES) : [])];
  if (missing.length) await installPackages(missing, say);
  else say(opts.testTools ? 'docker.io, mmdebstrap and the test tools are installed' : 'docker.io and mmdebstrap are installed');

  const { docker, started: engineStarted } = await ensureEngine(opts.socket, say);
  const version = await docker.version().catch(() => undefined);
  say(`Docker engine ${version?.Version ?? '?'} answers at ${opts.socket}${engineStarted ? ' (started now)' : ''}`);

  if (opts.image) {
    const built = await buildImage(docker, opts.image, {
      onProgress: (step, detail) => say(`image ${opts.image}: ${step}${detail ? ` ${detail}` : ''}`),
    });
    say(`image ${opts.image}: ${built.imageId} ${built.ref} (${built.reused ? 'already built' : `built in ${built.seconds.toFixed(0)}s`})`);
  }
  say(`ready in ${((performance.now() - started) / 1000).toFixed(1)}s`);
}
