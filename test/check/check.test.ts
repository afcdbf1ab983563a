import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { limitsSchema } from '../../src/config/schema.ts';
import { renderCheck } from '../../src/check/report.ts';
import { checkWithDocker, controlPlan } from '../../src/check/runner.ts';
import { connectEngine } from '../../src/check/setup.ts';
import { VARIATIONS, type VariationName } from '../../src/check/variations.ts';
import { checkImageId, ensureCheckHostTools } from '../support/check-image.ts';

/**
 * `reprod check` on the fixture projects, every build in a real container.
 * Each fixture breaks under exactly one variation: the check must name it and
 * only it, under the full default variation set (bisection included).
 */
const FIXTURES = fileURLToPath(new URL('../../fixtures/check/', import.meta.url));
const CACHE = join(fileURLToPath(new URL('../../', import.meta.url)), '.reprod');

interface Fixture {
  build: string;
  outputs: string[];
  breaks: string[];
  /** Differs from build to build with no variation at all. */
  nondeterministic?: boolean;
}

let docker: Docker;
let imageId: string;

before(async () => {
  await ensureCheckHostTools();
  docker = await connectEngine('/var/run/docker.sock');
  imageId = await checkImageId(docker);
});

async function fixture(name: string): Promise<Fixture> {
  return JSON.parse(await readFile(join(FIXTURES, name, 'check.json'), 'utf8')) as Fixture;
}

async function check(name: string, variations: readonly VariationName[] = VARIATIONS, runs = 1, jobs = 1) {
  const fx = await fixture(name);
  const control = controlPlan({
    imageId,
    imageRef: 'test',
    build: fx.build,
    outputs: fx.outputs,
    sourceDateEpoch: 1700000000,
    source: { repo: join(FIXTURES, name), commit: '' },
    limits: limitsSchema.parse({ timeoutSeconds: 120 }),
  });
  const report = await checkWithDocker({
    docker,
    control,
    sourceDir: join(FIXTURES, name),
    variations: [...variations],
    runs,
    jobs,
    cacheDir: CACHE,
    source: { dir: name },
  });
  return { fx, report };
}

const names = (await readdir(FIXTURES, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();

for (const name of names) {
  if ((await fixture(name)).nondeterministic) continue;
  // The CPU count can only be varied on a machine with two or more.
  const skip = name === 'cpus' && availableParallelism() < 2 ? 'this machine has 1 CPU' : false;
  test(`fixture ${name}: check names exactly the variation that breaks it`, { skip }, async () => {
    const { fx, report } = await check(name);
    const skipped = report.variations.filter((v) => v.status === 'skipped' && !(v.name === 'cpus' && availableParallelism() < 2));
    assert.deepEqual(skipped, [], `variations skipped on this host: ${JSON.stringify(skipped)}`);
    const breaking = report.variations.filter((v) => v.status === 'breaks').map((v) => v.name);
    assert.deepEqual(breaking, fx.breaks);
    assert.equal(report.reproducible, fx.breaks.length === 0);
    assert.deepEqual(report.findings.map((f) => f.variations), fx.breaks.length === 0 ? [] : [fx.breaks]);
    if (fx.breaks.length === 0) {
      // Reproducible: the control and the all-at-once experiment, nothing more.
      assert.equal(report.builds, 2);
    } else {
      const finding = report.findings[0]!;
      assert.equal(finding.outputs[0]!.name, fx.outputs[0]);
      assert.ok(finding.outputs[0]!.diff, 'the differing output is diffed');
      assert.deepEqual(finding.causes.filter((c) => c.from === 'variation').map((c) => c.variation), fx.breaks);
      assert.ok(finding.causes.every((c) => c.fix.length > 0), 'every cause comes with a fix');
      assert.ok(report.builds <= 12, `${report.builds} builds`);
      assert.ok(finding.buildsToIsolate <= report.builds);
    }
  });
}

test('--jobs 2: speculative parallel bisection names the same culprit', async () => {
  const { report } = await check('umask', VARIATIONS, 1, 2);
  assert.deepEqual(report.findings.map((f) => f.variations), [['umask']]);
  assert.deepEqual(report.variations.filter((v) => v.status === 'breaks').map((v) => v.name), ['umask']);
});

test('canaries: the report shows the bytes where the hostname and the build path leaked', async () => {
  const host = await check('hostname', ['hostname', 'umask', 'timezone']);
  const hit = host.report.findings[0]!.outputs[0]!.canaries[0]!;
  assert.equal(hit.canary, 'reprod-canary-host');
  assert.equal(hit.offset, 'built on host '.length);
  const path = await check('build-path', ['build-path', 'home']);
  const hits = path.report.findings[0]!.outputs[0]!.canaries;
  assert.ok(hits.some((h) => h.canary === '/build/reprod-canary-path' && h.context.includes('/build/reprod-canary-path/hello.c')));
});

test('formats: JSON parses with the per-variation verdicts; HTML and text name the culprit', async () => {
  const { report } = await check('locale', ['locale', 'hostname']);
  const json = JSON.parse(renderCheck(report, 'json')) as { reprodCheckVersion: number; variations: { name: string; status: string }[] };
  assert.equal(json.reprodCheckVersion, 1);
  assert.deepEqual(
    json.variations.map((v) => [v.name, v.status]),
    [
      ['locale', 'breaks'],
      ['hostname', 'stable'],
    ],
  );
  assert.match(renderCheck(report, 'html'), /Not reproducible: locale/);
  assert.match(renderCheck(report, 'text'), /NOT REPRODUCIBLE: locale/);
  // The diff shows the reordered lines.
  assert.match(report.findings[0]!.outputs[0]!.diff!.text, /Zebra/);
});

/** The built-in diff's text, or (once src/compare is present) the causes the diff engine classified. */
function diffOf(report: Awaited<ReturnType<typeof check>>['report']) {
  const diff = report.findings[0]!.outputs[0]!.diff!;
  return { builtin: (diff.report as { builtin?: boolean }).builtin === true, text: diff.text, causes: diff.causes.map((c) => c.cause) };
}

test('binary outputs: the diff shows what changed (__DATE__ from SOURCE_DATE_EPOCH)', async () => {
  const d = diffOf((await check('sde', ['source-date-epoch'])).report);
  // SOURCE_DATE_EPOCH 1700000000 is 14 Nov 2023; without it gcc takes today's date.
  if (d.builtin) assert.match(d.text, /-Nov 14 2023/);
  else assert.ok(d.causes.includes('embedded-timestamp'), d.causes.join());
});

test('tar outputs: the diff shows the members whose mode (umask) or order (fs-order) changed', async () => {
  const umask = diffOf((await check('umask', ['umask'])).report);
  if (umask.builtin) assert.match(umask.text, /\+file 0664 .* pkg\/hello\.txt/);
  else assert.ok(umask.causes.includes('file-permissions'), umask.causes.join());
  const order = diffOf((await check('fs-order', ['fs-order'])).report);
  if (order.builtin) assert.match(order.text, /\+file 0644 .* data\/\w+\.txt/);
  else assert.ok(order.causes.includes('archive-order'), order.causes.join());
});

test('a build that fails only under a variation is a finding with the build error, not an error of the check', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-check-rootonly-'));
  try {
    await writeFile(join(dir, 'build.sh'), 'set -e\n[ "$(id -u)" = 0 ] || { echo "must build as root" >&2; exit 4; }\necho ok > out.txt\n');
    const control = controlPlan({
      imageId,
      imageRef: 'test',
      build: 'sh build.sh',
      outputs: ['out.txt'],
      sourceDateEpoch: 1700000000,
      source: { repo: dir, commit: '' },
      limits: limitsSchema.parse({ timeoutSeconds: 120 }),
    });
    const report = await checkWithDocker({ docker, control, sourceDir: dir, variations: ['user', 'umask', 'hostname'], runs: 1, cacheDir: CACHE, source: { dir } });
    assert.equal(report.reproducible, false);
    assert.deepEqual(report.findings.map((f) => f.variations), [['user']]);
    assert.equal(report.findings[0]!.buildError?.code, 'BUILD_FAILED');
    assert.match(report.findings[0]!.buildError!.message, /must build as root/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('runs: repeated control builds expose nondeterminism no variation explains', async () => {
  const { report } = await check('random', ['hostname'], 2);
  assert.equal(report.reproducible, false);
  assert.ok(report.nondeterministic);
  assert.deepEqual(report.findings[0]!.variations, []);
  assert.equal(report.variations[0]!.status, 'untested');
});

test('without repeats, the confirming control at the end still catches it: no variation is blamed', async () => {
  const { report } = await check('random', ['hostname', 'umask'], 1);
  assert.equal(report.reproducible, false);
  assert.equal(report.nondeterministic?.detectedAt, 'end');
  assert.deepEqual(report.findings.map((f) => f.variations), [[]]);
  assert.deepEqual(report.variations.map((v) => v.status), ['untested', 'untested']);
});
