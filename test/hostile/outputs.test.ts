/**
 * Hostile build outputs and archives: what a build hands back through the Docker
 * archive API (real containers: links climbing out, links inside an output
 * folder, FIFOs, too many members, too many bytes, control characters, output
 * names that climb out), and what `reprod diff` is given (traversal, absolute
 * names, link escapes, terminal escapes in names, bombs, malformed input).
 * Every case has its code or exit code; nothing is written outside the job or
 * work folder and the canary is untouched.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { executePlan, type ExecuteOptions } from '../../src/build/executor.ts';
import { extractTar } from '../../src/build/output-tar.ts';
import { CONTAINER_LABEL } from '../../src/config/defaults.ts';
import { isReprodError, type ErrorCode } from '../../src/errors.ts';
import { silentLogger } from '../../src/log/logger.ts';
import type { BuildPlan } from '../../src/plan/types.ts';
import { tarBuffer } from '../support/archives.ts';
import { labelledContainers, testDocker, testPlan } from '../support/docker.ts';
import { Canary, Workspace } from './harness.ts';

const NODE = process.execPath;
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

let docker: Docker;
let root: string;
let sourceDir: string;
let canary: Canary;
let ws: Workspace;
let n = 0;

before(async () => {
  docker = await testDocker();
  root = await mkdtemp(join(tmpdir(), 'reprod-hostile-out-'));
  sourceDir = join(root, 'source');
  await mkdir(sourceDir);
  await writeFile(join(sourceDir, 'input.txt'), 'source\n');
  canary = await new Canary(join(root, 'canary')).arm();
  ws = new Workspace(root, [join(root, 'jobs'), join(root, 'diff')]);
  await ws.snapshot();
});

after(() => rm(root, { recursive: true, force: true }));

function job(): ExecuteOptions {
  n += 1;
  const jobId = `hostile-out-${process.pid}-${n}`;
  return { jobId, sourceDir, jobDir: join(root, 'jobs', jobId), fetchNetwork: 'none', logger: silentLogger };
}

/** Runs a plan that must fail with `code`; the job leaves no container, no volume and nothing in out/. */
async function refused(plan: BuildPlan, code: ErrorCode): Promise<void> {
  const o = job();
  let caught: unknown;
  await executePlan(docker, plan, o).then(() => undefined, (e: unknown) => (caught = e));
  assert.ok(isReprodError(caught), `expected ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.deepEqual(await labelledContainers(docker, o.jobId), []);
  const { Volumes } = await docker.listVolumes({ filters: { label: [`${CONTAINER_LABEL}=${o.jobId}`] } });
  assert.deepEqual(Volumes ?? [], []);
  assert.deepEqual(await readdir(join(o.jobDir, 'out')), [], 'something was written to out/');
  assert.deepEqual((await readdir(o.jobDir)).sort(), ['build.log', 'out'], 'scratch left in the job folder');
}

const build = (cmd: string) => [{ name: 'hostile', run: ['bash', '-c', cmd] }];

describe('hostile outputs from real containers', { concurrency: true }, () => {
  it('an output that is a relative symlink climbing out of the build: OUTPUT_PATH_ESCAPE', async () => {
    await refused(await testPlan({ build: build('ln -s ../../../../../etc/shadow out.txt') }), 'OUTPUT_PATH_ESCAPE');
  });

  it('an output folder holding a link that leaves it: OUTPUT_MISSING, its members never read', async () => {
    await refused(await testPlan({ build: build('mkdir -p dist && echo ok > dist/a && ln -s /etc/passwd dist/b'), outputs: [{ name: 'dist', path: 'dist' }] }), 'OUTPUT_MISSING');
  });

  it('an output that is a FIFO: OUTPUT_MISSING (only regular files are outputs)', async () => {
    await refused(await testPlan({ build: build('mkfifo out.txt') }), 'OUTPUT_MISSING');
  });

  it('an output folder with 20,000 members: OUTPUT_MISSING at its first entry (nothing extracted)', async () => {
    await refused(await testPlan({ build: build('mkdir -p many && cd many && seq 1 20000 | xargs touch'), outputs: [{ name: 'many', path: 'many' }], limits: { timeoutSeconds: 120 } }), 'OUTPUT_MISSING');
  });

  it('an output over limits.outputBytes: OUTPUT_TOO_LARGE', async () => {
    await refused(await testPlan({ build: build('head -c 3000000 /dev/urandom > out.txt'), limits: { outputBytes: 1024 * 1024 } }), 'OUTPUT_TOO_LARGE');
  });

  it('an output name that climbs out of the output folder: OUTPUT_PATH_ESCAPE', async () => {
    await refused(await testPlan({ build: build('echo x > out.txt'), outputs: [{ name: `../../../canary/pwned`, path: 'out.txt' }] }), 'OUTPUT_PATH_ESCAPE');
  });

  it('a file whose container name holds control characters is kept under its subject name only', async () => {
    const o = job();
    const weird = 'we\u001b[2Jird\n\r.txt';
    const r = await executePlan(docker, await testPlan({ build: [{ name: 'weird', run: ['sh', '-c', 'printf data > "$1"', 'sh', weird] }], outputs: [{ name: 'clean.txt', path: weird }] }), o);
    assert.equal(r.outputs[0]!.name, 'clean.txt');
    assert.deepEqual(await readdir(join(o.jobDir, 'out')), ['clean.txt']);
  });
});

describe('the output reader on hostile tar streams', () => {
  it('more members than allowed: ARCHIVE_LIMIT, read as a stream', async () => {
    const p = pack();
    const into = join(root, 'jobs', 'many-members');
    const max = 5000;
    const reading = extractTar(p as unknown as Readable, into, { maxBytes: 1024, maxEntries: max });
    for (let i = 0; i <= max; i++) p.entry({ name: `l${i}`, type: 'symlink', linkname: 'target' });
    p.finalize();
    await assert.rejects(reading, (e) => isReprodError(e, 'ARCHIVE_LIMIT'));
    assert.deepEqual(await readdir(into), []);
  });

  it('a member name with control characters is a plain file name inside the folder, never interpreted', async () => {
    const into = join(root, 'jobs', 'control-names');
    const entries = await extractTar(Readable.from(await tarBuffer([{ name: 'a\u001b[2J\nb', body: 'x' }])), into, { maxBytes: 1024 });
    assert.deepEqual(entries.map((e) => e.path), ['a\u001b[2J\nb']);
    assert.deepEqual(await readdir(into), ['a\u001b[2J\nb']);
  });
});

describe('reprod diff on hostile archives (the CLI)', () => {
  const dir = () => join(root, 'diff');
  const diff = (...args: string[]) => spawnSync(NODE, [MAIN, 'diff', ...args], { cwd: dir(), encoding: 'utf8', timeout: 120_000 });

  before(() => mkdir(join(root, 'diff'), { recursive: true }));

  it('traversal, absolute names, link escapes and terminal escapes in names: exit 1, escaped, nothing extracted', async () => {
    const members = (v: string) => [
      { name: '../../../canary/pwned', body: v },
      { name: `/tmp/reprod-pwned-${canary.marker}`, body: v },
      { name: 'link-out', type: 'symlink' as const, linkname: `${canary.dir}/secret.txt` },
      { name: 'up-link', type: 'symlink' as const, linkname: '../../../../etc' },
      { name: 'title\u001b]0;owned\u0007\u001b[2J\r\nfake: identical', body: v },
    ];
    await writeFile(join(dir(), 'a.tar'), await tarBuffer(members('one\n')));
    await writeFile(join(dir(), 'b.tar'), await tarBuffer(members('two\n')));
    for (const format of ['text', 'json', 'html']) {
      const r = diff('a.tar', 'b.tar', '--format', format);
      assert.equal(r.status, 1, `${format}: ${r.stderr}`);
      assert.ok(!/[\u0007\u001b]/.test(r.stdout), `${format}: a raw terminal escape reached stdout`);
      assert.match(r.stdout, /pwned/);
    }
    assert.deepEqual((await readdir(dir())).sort(), ['a.tar', 'b.tar']);
    await canary.assertUntouched();
  });

  it('a decompression bomb: exit 2, error[ARCHIVE_LIMIT]', async () => {
    const zeros = Buffer.alloc(64 * 1024 * 1024);
    await writeFile(join(dir(), 'bomb-a.gz'), gzipSync(zeros, { level: 9 }));
    await writeFile(join(dir(), 'bomb-b.gz'), gzipSync(Buffer.concat([zeros, Buffer.from('x')]), { level: 9 }));
    const r = diff('bomb-a.gz', 'bomb-b.gz');
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /error\[ARCHIVE_LIMIT\]/);
  });

  it('a truncated gzip: exit 2, error[ARCHIVE_MALFORMED]', async () => {
    const good = gzipSync(Buffer.alloc(100_000, 'a'));
    await writeFile(join(dir(), 'cut-a.gz'), good.subarray(0, good.length - 100));
    await writeFile(join(dir(), 'cut-b.gz'), gzipSync(Buffer.alloc(100_000, 'b')).subarray(0, 50));
    const r = diff('cut-a.gz', 'cut-b.gz');
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /error\[ARCHIVE_MALFORMED\]/);
  });
});

describe('after the hostile outputs', () => {
  it('nothing was written outside the job and diff folders; the canary is untouched', async () => {
    await canary.assertUntouched();
    await ws.assertNothingWrittenOutside();
  });
});
