/**
 * bench:image — how long CI waits for the builder image: a cold build of
 * bookworm-build (mmdebstrap + archive + docker load) against the reuse path
 * (`reprod setup` on a ready machine), measured side by side in one run, plus
 * the image size. The cold build also checks the image id did not change.
 */
import { connectDocker } from '../../src/build/docker.ts';
import { buildImage } from '../../src/build/images.ts';
import { DEFAULT_BUILDER_IMAGE } from '../../src/config/defaults.ts';

const name = process.argv[2] ?? DEFAULT_BUILDER_IMAGE;
const docker = await connectDocker();
const before = await buildImage(docker, name);
const reuse: number[] = [];
for (let i = 0; i < 5; i++) reuse.push((await buildImage(docker, name)).seconds);
const cold = await buildImage(docker, name, { force: true, onProgress: (s, d) => process.stderr.write(`  ${s} ${d ?? ''}\n`) });
const size = (await docker.getImage(cold.imageId).inspect()).Size;
const reuseMedian = reuse.sort((a, b) => a - b)[2]!;
console.log(`image ${name}: ${cold.imageId}`);
console.log(`  same id as before the rebuild: ${cold.imageId === before.imageId ? 'yes' : `NO (was ${before.imageId})`}`);
console.log(`  cold build:  ${cold.seconds.toFixed(1)} s`);
console.log(`  reuse:       ${(reuseMedian * 1000).toFixed(1)} ms (median of 5)`);
console.log(`  ratio cold/reuse: ${(cold.seconds / reuseMedian).toFixed(0)}x`);
console.log(`  image size:  ${(size / 1e6).toFixed(0)} MB`);
