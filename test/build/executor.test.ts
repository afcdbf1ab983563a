import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import { executePlan, type ExecuteOptions } from '../../src/build/executor.ts';
import { CONTAINER_LABEL } from '../../src/config/defaults.ts';
import { isReprodError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log/logger.ts';
import type { BuildPlan } from '../../src/plan/types.ts';
import { labelledContainers, testDocker, testPlan } from '../support/docker.ts';

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

describe('hermetic executor (real Docker)', () => {
  let docker: Docker;
  let root: string;
  let sourceDir: string;
  let n = 0;

  before(async () => {
    docker = await testDocker();
    root = await mkdtemp(join(tmpdir(), 'reprod-exec-'));
    sourceDir = join(root, 'source');
    await mkdir(sourceDir);
    await writeFile(join(sourceDir, 'input.txt'), 'source bytes\n');
  });
  after(() => rm(root, { recursive: true, force: true }));

  function job(over: Partial<ExecuteOptions> = {}): ExecuteOptions {
    n += 1;
    const jobId = `test-exec-${process.pid}-${n}`;
    return { jobId, sourceDir, jobDir: join(root, 'jobs', jobId), fetchNetwork: 'host', logger: silentLogger, ...over };
  }

  /** No container and no volume of the job is left behind. */
  async function assertCleanedUp(jobId: string): Promise<void> {
    assert.deepEqual(await labelledContainers(docker, jobId), []);
    const { Volumes } = await docker.listVolumes({ filters: { label: [`${CONTAINER_LABEL}=${jobId}`] } });
    assert.deepEqual(Volumes ?? [], []);
  }

  async function fails(plan: BuildPlan, code: string, o = job()): Promise<Error & { details?: Record<string, unknown> }> {
    let caught: unknown;
    await executePlan(docker, plan, o).catch((e: unknown) => (caught = e));
    assert.ok(isReprodError(caught), `expected ${code}, got ${String(caught)}`);
    assert.equal(caught.code, code, caught.message);
    await assertCleanedUp(o.jobId);
    return caught;
  }

  it('builds an output from the source; its digest is the same on a second run', async () => {
    const plan = await testPlan({
      build: [{ name: 'pack', run: ['sh', '-c', 'mkdir -p dist && tar --sort=name --mtime=@$SOURCE_DATE_EPOCH --owner=0 --group=0 --numeric-owner -cf dist/out.tar input.txt && gzip -n -9 dist/out.tar'] }],
      outputs: [{ name: 'out.tar.gz', path: 'dist/out.tar.gz' }],
    });
    const one = job();
    const a = await executePlan(docker, plan, one);
    const b = await executePlan(docker, plan, job());
    assert.equal(a.outputs.length, 1);
    assert.equal(a.outputs[0]!.sha256, b.outputs[0]!.sha256);
    assert.equal(a.outputs[0]!.path, join(one.jobDir, 'out', 'out.tar.gz'));
    assert.equal(sha256(await readFile(a.outputs[0]!.path)), a.outputs[0]!.sha256);
    assert.equal(a.imageId, plan.image.digest);
    assert.deepEqual(a.phases.map((p) => p.phase), ['prepare', 'build', 'collect']);
    assert.match(await readFile(a.logPath, 'utf8'), /build step 1\/1: pack/);
    assert.equal(sha256(await readFile(a.logPath)), a.logSha256);
    await assertCleanedUp(one.jobId);
  });

  it('runs with the plan\'s SOURCE_DATE_EPOCH, TZ, locale, umask, hostname and build path, without capabilities', async () => {
    const script = [
      'echo "sde=$SOURCE_DATE_EPOCH"', 'echo "tz=$TZ"', 'echo "lc=$LC_ALL"', 'echo "umask=$(umask)"', 'echo "host=$(hostname)"',
      'echo "pwd=$(pwd)"', 'echo "zone=$(date +%Z)"', 'touch f && echo "mode=$(stat -c %a f)"', 'echo "src=$(cat input.txt)"',
      'echo "caps=$(grep CapEff /proc/self/status | cut -f2)"', 'echo "nnp=$(grep NoNewPrivs /proc/self/status | cut -f2)"',
      'echo "extra=$EXTRA"',
    ].join('; ');
    const plan = await testPlan({
      hostname: 'fixed-host',
      workdir: '/build/work',
      env: { SOURCE_DATE_EPOCH: '1234567890', TZ: 'UTC', LC_ALL: 'C.UTF-8', EXTRA: 'x y' },
      build: [{ name: 'env', run: ['sh', '-c', `(${script}) > env.txt`] }],
      outputs: [{ name: 'env.txt', path: 'env.txt' }],
    });
    const r = await executePlan(docker, plan, job());
    const seen = Object.fromEntries((await readFile(r.outputs[0]!.path, 'utf8')).trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]));
    assert.deepEqual(seen, {
      sde: '1234567890', tz: 'UTC', lc: 'C.UTF-8', umask: '0022', host: 'fixed-host', pwd: '/build/work', zone: 'UTC',
      mode: '644', src: 'source bytes', caps: '0000000000000000', nnp: '1', extra: 'x y',
    });
    // The host source is only read.
    assert.deepEqual((await readdir(sourceDir)).sort(), ['input.txt']);
  });

  it('runs the steps as plan.user when given, owning the build path', async () => {
    const plan = await testPlan({ user: '1000:1000', build: [{ name: 'id', run: ['sh', '-c', 'echo "$(id -u):$(id -g) $(stat -c %u input.txt)" > id.txt'] }], outputs: [{ name: 'id.txt', path: 'id.txt' }] });
    const r = await executePlan(docker, plan, job());
    assert.equal((await readFile(r.outputs[0]!.path, 'utf8')).trim(), '1000:1000 1000');
  });

  describe('network', () => {
    let server: Server;
    let port = 0;
    let connections = 0;
    const payload = 'pinned input bytes\n';
    before(async () => {
      server = createServer((s) => {
        connections += 1;
        s.end(payload);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as { port: number }).port;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    const fetchStep = () => ({ name: 'download', run: ['bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}; cat <&3 > deps.bin`] });

    it('the fetch phase reaches a loopback server; the build phase has no network', async () => {
      const before = connections;
      const plan = await testPlan({
        fetch: [fetchStep()],
        pinned: [{ path: 'deps.bin', sha256: sha256(payload) }],
        build: [
          {
            name: 'try-network',
            run: ['bash', '-c', `if (exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null; then echo reached; else echo blocked; fi > net.txt; ls /sys/class/net >> net.txt; cp deps.bin copy.bin`],
          },
        ],
        outputs: [{ name: 'net.txt', path: 'net.txt' }, { name: 'copy.bin', path: 'copy.bin' }],
      });
      const r = await executePlan(docker, plan, job());
      assert.equal(await readFile(r.outputs[0]!.path, 'utf8'), 'blocked\nlo\n');
      assert.equal(r.outputs[1]!.sha256, sha256(payload));
      assert.equal(connections - before, 1, 'only the fetch phase connected');
      assert.deepEqual(r.phases.map((p) => p.phase), ['prepare', 'fetch', 'build', 'collect']);
    });

    it('a fetched input that differs from its pin is INPUT_DIGEST_MISMATCH', async () => {
      const plan = await testPlan({ fetch: [fetchStep()], pinned: [{ path: 'deps.bin', sha256: sha256('something else') }] });
      const e = await fails(plan, 'INPUT_DIGEST_MISMATCH');
      assert.equal(e.details?.actual, sha256(payload));
    });

    it('a failing fetch step is FETCH_FAILED', async () => {
      await fails(await testPlan({ fetch: [{ name: 'bad', run: ['sh', '-c', 'exit 7'] }] }), 'FETCH_FAILED');
    });
  });

  it('a non-zero exit is BUILD_FAILED with the exit code, step and log tail', async () => {
    const plan = await testPlan({ build: [{ name: 'ok', run: ['true'] }, { name: 'explode', run: ['sh', '-c', 'echo something broke >&2; exit 3'] }] });
    const e = await fails(plan, 'BUILD_FAILED');
    assert.equal(e.details?.exitCode, 3);
    assert.equal(e.details?.step, 'explode');
    assert.match(e.message, /something broke/);
  });

  it('an output that is a symlink to /etc/passwd is refused: OUTPUT_PATH_ESCAPE, nothing written', async () => {
    const o = job();
    await fails(await testPlan({ build: [{ name: 'link', run: ['ln', '-s', '/etc/passwd', 'out.txt'] }] }), 'OUTPUT_PATH_ESCAPE', o);
    assert.deepEqual(await readdir(join(o.jobDir, 'out')), []);
  });

  it('an output the build did not make is OUTPUT_MISSING', async () => {
    await fails(await testPlan({ build: [{ name: 'nothing', run: ['true'] }] }), 'OUTPUT_MISSING');
  });

  it('refuses a mutable image tag (PLAN_INVALID) and an absent image (IMAGE_NOT_FOUND)', async () => {
    await assert.rejects(executePlan(docker, await testPlan({ image: { ref: 'debian', digest: 'debian:bookworm' } }), job()), (e) => isReprodError(e, 'PLAN_INVALID'));
    await assert.rejects(executePlan(docker, await testPlan({ image: { ref: 'gone', digest: `sha256:${'0'.repeat(64)}` } }), job()), (e) => isReprodError(e, 'IMAGE_NOT_FOUND'));
  });

  it('a CPU limit above the machine\'s CPUs is clamped; settings the engine refuses are PLAN_INVALID', async () => {
    const r = await executePlan(docker, await testPlan({ limits: { cpus: 64 } }), job());
    assert.equal(r.outputs.length, 1);
    await fails(await testPlan({ limits: { memoryBytes: 1024 * 1024 } }), 'PLAN_INVALID');
  });

  it('an abort kills the build: BUILD_CANCELLED, nothing left behind', async () => {
    const ac = new AbortController();
    const o = job({ signal: ac.signal, onProgress: (phase) => phase === 'build' && setTimeout(() => ac.abort(), 500) });
    await fails(await testPlan({ build: [{ name: 'hang', run: ['sleep', '1000'] }] }), 'BUILD_CANCELLED', o);
  });
  // Hostile builds (timeout, fork bomb, memory hog, log flood, disk fill, …) are in test/hostile/builds.test.ts.
});
