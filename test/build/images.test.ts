import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { buildImage, resolveImage } from '../../src/build/images.ts';
import { isReprodError } from '../../src/errors.ts';
import { builderImageId, testDocker } from '../support/docker.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

describe('builder images (real Docker, mmdebstrap)', () => {
  let dir: string;
  const tiny = `test-tiny-${process.pid}`;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reprod-recipes-'));
    // The smallest real recipe: one package unpacked; seconds to build.
    await writeFile(join(dir, `${tiny}.yaml`), 'release: bookworm\nvariant: extract\npackages: [base-files]\nsourceDateEpoch: 1700000000\n');
  });
  after(async () => {
    const docker = await testDocker();
    const images = await docker.listImages({ filters: { reference: [`reprod/${tiny}`] } });
    for (const i of images) await docker.getImage(i.Id).remove({ force: true }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('the same recipe built twice from scratch gives the same image id', async () => {
    const docker = await testDocker();
    const progress: string[] = [];
    const a = await buildImage(docker, tiny, { force: true, recipesDir: dir, onProgress: (s) => progress.push(s) });
    const b = await buildImage(docker, tiny, { force: true, recipesDir: dir });
    assert.equal(a.reused, false);
    assert.equal(b.reused, false);
    assert.match(a.imageId, /^sha256:[0-9a-f]{64}$/);
    assert.equal(a.imageId, b.imageId);
    assert.ok(progress.includes('mmdebstrap') && progress.includes('load'), progress.join(','));
    const info = await docker.getImage(a.imageId).inspect();
    assert.equal(info.Created, '2023-11-14T22:13:20Z');
    const c = await buildImage(docker, tiny, { recipesDir: dir });
    assert.deepEqual({ id: c.imageId, reused: c.reused }, { id: a.imageId, reused: true });
  });

  it('bookworm-build is reused when its recipe is unchanged, and `reprod images build` prints its id', async () => {
    const docker = await testDocker();
    const id = await builderImageId();
    const again = await buildImage(docker, 'bookworm-build');
    assert.deepEqual({ id: again.imageId, reused: again.reused }, { id, reused: true });
    assert.match(again.ref, /^reprod\/bookworm-build:[0-9a-f]{16}$/);
    const r = spawnSync(process.execPath, [MAIN, 'images', 'build', 'bookworm-build'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), id);
  });

  it('the image has the tools the recipe lists, and no apt lists', async () => {
    const docker = await testDocker();
    const id = await builderImageId();
    const c = await docker.createContainer({ Image: id, Cmd: ['sh', '-c', 'cc --version >/dev/null && git --version >/dev/null && node --version >/dev/null && npm --version >/dev/null && python3 -c 1 && go version >/dev/null && test -z "$(ls /var/lib/apt/lists | grep -v -e ^partial$ -e ^lock$)"'], HostConfig: { NetworkMode: 'none' } });
    try {
      const out: Buffer[] = [];
      const stream = await c.attach({ stream: true, stdout: true, stderr: true });
      stream.on('data', (b: Buffer) => out.push(b));
      await c.start();
      const { StatusCode } = (await c.wait()) as { StatusCode: number };
      assert.equal(StatusCode, 0, Buffer.concat(out).toString());
    } finally {
      await c.remove({ force: true });
    }
  });

  it('resolveImage accepts recipe names and image ids, refuses mutable tags', async () => {
    const docker = await testDocker();
    const id = await builderImageId();
    assert.equal(await resolveImage(docker, id), id);
    await assert.rejects(resolveImage(docker, 'debian:bookworm'), (e) => isReprodError(e, 'PLAN_INVALID'));
    await assert.rejects(resolveImage(docker, `sha256:${'0'.repeat(64)}`), (e) => isReprodError(e, 'IMAGE_NOT_FOUND'));
    await assert.rejects(resolveImage(docker, 'no-such-recipe'), (e) => isReprodError(e, 'IMAGE_NOT_FOUND'));
  });

  // A full cold rebuild of bookworm-build takes minutes: run with REPROD_TEST_IMAGE_FORCE=1.
  it('`reprod images build bookworm-build --force` rebuilds the same image id', { skip: process.env.REPROD_TEST_IMAGE_FORCE !== '1' && 'set REPROD_TEST_IMAGE_FORCE=1 (cold build, minutes)' }, async () => {
    const id = await builderImageId();
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [MAIN, 'images', 'build', 'bookworm-build', '--force'], { encoding: 'utf8' });
    process.stderr.write(`# bookworm-build cold rebuild: ${((performance.now() - t0) / 1000).toFixed(0)}s\n`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), id);
  });
});

describe('reprod setup', () => {
  it('is idempotent: with everything present it exits 0 and --quiet prints nothing', () => {
    const r = spawnSync(process.execPath, [MAIN, 'setup', '--quiet'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout + r.stderr, '');
    const v = spawnSync(process.execPath, [MAIN, 'setup', '--no-image'], { encoding: 'utf8' });
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stderr, /Docker engine .* answers/);
  });

  it('doctor reports ready (exit 0), and exit 1 naming the engine when none answers', () => {
    const ok = spawnSync(process.execPath, [MAIN, 'doctor'], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stdout);
    assert.match(ok.stdout, /ok +builder image +reprod\/bookworm-build:/);
    const bad = spawnSync(process.execPath, [MAIN, 'doctor', '--socket', '/nonexistent/docker.sock'], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /MISSING docker engine/);
  });

  const asNobody = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0;
  it('as non-root with packages missing: prints the exact apt-get command, SETUP_FAILED', { skip: !asNobody && 'needs root and setpriv to drop to nobody' }, () => {
    const hostSetup = fileURLToPath(new URL('../../src/build/host-setup.ts', import.meta.url));
    const code = `import(${JSON.stringify(hostSetup)}).then((m) => m.installPackages(['mmdebstrap'], () => {})).then(() => console.log('installed'), (e) => console.log(e.code, e.message))`;
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', code], { encoding: 'utf8', env: { ...process.env, HOME: tmpdir() } });
    assert.match(r.stdout, /^SETUP_FAILED /);
    assert.match(r.stdout, /apt-get update && apt-get install -y --no-install-recommends mmdebstrap/);
  });

  it('--help teaches: options with defaults and an example', () => {
    const r = spawnSync(process.execPath, [MAIN, 'setup', '--help'], { encoding: 'utf8' });
    assert.match(r.stdout, /--no-image/);
    assert.match(r.stdout, /default: "bookworm-build"/);
    assert.match(r.stdout, /Example/);
  });
});
