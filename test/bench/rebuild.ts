/**
 * `npm run bench:rebuild`: reprod's wall time to rebuild the deterministic C
 * fixture (verify, cached source, hermetic build, compare, sign) beside a plain
 * `docker run` of the same command in the same image, alternating, 5 runs each.
 * Prints the medians and the overhead (target: under 10 % or 1.5 s).
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { rebuildAttestation } from '../../src/pipeline/rebuild.ts';
import { rebuildWorld } from '../support/rebuild-world.ts';

const run = promisify(execFile);
const RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const world = await rebuildWorld(['hello-c']);
try {
  const c = world.caseNamed('hello-c');
  const bytes = await readFile(c.attestation);
  const imageId = world.fixtures.imageId;
  const repoDir = join(world.fixtures.root, 'repos', 'hello-c');
  // Warm-up: fills the source cache so both sides start from files on disk.
  const [warm] = await rebuildAttestation(bytes, world.ctx, { uri: c.attestation });
  if (warm?.outcome !== 'reproduced') throw new Error(`warm-up did not reproduce: ${JSON.stringify(warm?.error)}`);
  const reprod: number[] = [];
  const plain: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    const [v] = await rebuildAttestation(bytes, world.ctx, { uri: c.attestation });
    reprod.push(performance.now() - t);
    if (v?.outcome !== 'reproduced') throw new Error('reprod run did not reproduce');
    const scratch = await mkdtemp(join(tmpdir(), 'reprod-bench-'));
    await cp(repoDir, scratch, { recursive: true });
    t = performance.now();
    await run('docker', ['run', '--rm', '--network', 'none', '-e', 'SOURCE_DATE_EPOCH=1700000000', '-v', `${scratch}:/src`, '-w', '/src', imageId, 'make']);
    plain.push(performance.now() - t);
    await rm(scratch, { recursive: true, force: true });
  }
  const r = median(reprod);
  const p = median(plain);
  const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log(`hello-c rebuild, median of ${RUNS} (alternating runs)`);
  console.log(`  reprod rebuild (verify+build+compare+sign): ${fmt(r)}   runs: ${reprod.map(fmt).join(', ')}`);
  console.log(`  plain docker run make:                      ${fmt(p)}   runs: ${plain.map(fmt).join(', ')}`);
  console.log(`  ratio reprod/plain: ${(r / p).toFixed(2)}x   overhead: ${fmt(r - p)} (${(((r - p) / p) * 100).toFixed(0)} %)`);
  console.log(`  target (under 10 % or 1.5 s): ${r - p < 1500 || r / p < 1.1 ? 'met' : 'NOT met'}`);
} finally {
  await world.cleanup();
}
