/**
 * `npm run bench:check`: reprod check beside Debian's reprotest on the
 * fixtures of fixtures/check/. Per project: did each tool name the right
 * variation (and only it), and how long did it take. Both get the same
 * variations where both support them; reprotest runs its `null` server
 * (straight on this host) inside a temp folder, with --auto-build.
 * Installs reprotest (+ faketime, disorderfs) with apt when missing and root.
 */
import { execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connectEngine } from '../../src/check/setup.ts';
import { checkImageId } from '../support/check-image.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = join(ROOT, 'fixtures/check');

/** reprod variation → reprotest variation, for the ones both tools can vary. */
const SHARED: Record<string, string> = {
  clock: 'time',
  'build-path': 'build_path',
  umask: 'umask',
  timezone: 'timezone',
  locale: 'locales',
  hostname: 'domain_host',
  home: 'home',
  env: 'environment',
  path: 'exec_path',
  cpus: 'num_cpus',
  'fs-order': 'fileordering',
  kernel: 'kernel',
};
/** reprod-only: reprotest does not vary SOURCE_DATE_EPOCH, and user_group needs sudo set up on the host. */
const REPROD_ONLY = ['source-date-epoch', 'user'];

interface Fixture {
  build: string;
  outputs: string[];
  breaks: string[];
  nondeterministic?: boolean;
}

async function ensureReprotest(): Promise<boolean> {
  const have = await run('sh', ['-c', 'command -v reprotest && command -v faketime && command -v disorderfs']).then(() => true, () => false);
  if (have) return true;
  if (process.getuid?.() !== 0) {
    console.log('reprotest (or faketime/disorderfs) missing and not root: apt-get install -y reprotest faketime disorderfs');
    return false;
  }
  console.log('installing reprotest faketime disorderfs with apt-get …');
  await run('apt-get', ['install', '-y', '--no-install-recommends', 'reprotest', 'faketime', 'disorderfs', 'diffoscope'], { maxBuffer: 64 << 20 });
  return true;
}

function timed(cmd: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, ms: performance.now() - t0 }));
  });
}

async function reprodCheck(name: string, fx: Fixture, imageId: string, scratch: string) {
  const src = join(scratch, 'reprod-src');
  await cp(join(FIXTURES, name), src, { recursive: true });
  const vary = [...Object.keys(SHARED), ...REPROD_ONLY].join(',');
  const r = await timed(
    join(ROOT, 'node_modules/.bin/node'),
    [join(ROOT, 'src/cli/main.ts'), 'check', src, '--build', fx.build, '--output', ...fx.outputs, '--image', imageId, '--vary', vary, '--jobs', '2', '--format', 'json'],
    // The repo root: its .reprod data folder caches the compiled host assets (locale, shim) across runs.
    ROOT,
  );
  if (r.code === 2) throw new Error(`reprod check failed on ${name}: ${r.stderr}`);
  const report = JSON.parse(r.stdout) as { builds: number; variations: { name: string; status: string }[] };
  return { named: report.variations.filter((v) => v.status === 'breaks').map((v) => v.name), ms: r.ms, builds: report.builds };
}

async function reprotest(name: string, fx: Fixture, scratch: string) {
  const src = join(scratch, 'reprotest-src');
  await cp(join(FIXTURES, name), src, { recursive: true });
  const vary = `-all,${Object.values(SHARED).map((v) => `+${v}`).join(',')}`;
  // null server: reprotest copies the source under TMPDIR and builds there; TMPDIR is our scratch folder.
  const r = await timed('env', [`TMPDIR=${scratch}`, 'reprotest', '--auto-build', `--vary=${vary}`, '--min-cpus=2', `--store-dir=${join(scratch, 'store')}`, '-s', src, fx.build, fx.outputs.join(' '), '--', 'null'], scratch);
  const out = `${r.stdout}\n${r.stderr}`;
  const back = Object.fromEntries(Object.entries(SHARED).map(([a, b]) => [b, a]));
  const m = /Observed unreproducibility when varying each of the following:\n([\s\S]*?)(?:\n\S*The build|$)/.exec(out);
  const named = m ? m[1]!.split('\n').map((l) => l.trim()).filter(Boolean).map((v) => back[v] ?? v) : [];
  return { named, ms: r.ms, code: r.code, tail: out.split('\n').slice(-3).join(' | ') };
}

const docker = await connectEngine('/var/run/docker.sock');
const imageId = await checkImageId(docker);
const withReprotest = await ensureReprotest();
const names = (await readdir(FIXTURES, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
const rows: string[][] = [['project', 'expected', 'reprod named', 'ok', 'builds', 'time', 'reprotest named', 'ok', 'time', 'ratio']];
let [reprodOk, reprotestOk, reprodMs, reprotestMs, counted] = [0, 0, 0, 0, 0];
for (const name of names) {
  const fx = JSON.parse(await readFile(join(FIXTURES, name, 'check.json'), 'utf8')) as Fixture;
  if (fx.nondeterministic) continue;
  const scratch = await mkdtemp(join(tmpdir(), `reprod-bench-check-${name}-`));
  try {
    const a = await reprodCheck(name, fx, imageId, scratch);
    const aOk = a.named.join() === fx.breaks.join();
    reprodOk += aOk ? 1 : 0;
    reprodMs += a.ms;
    counted += 1;
    const expected = fx.breaks.join(',') || '(none)';
    if (!withReprotest) {
      rows.push([name, expected, a.named.join(',') || '(none)', aOk ? 'yes' : 'NO', String(a.builds), `${(a.ms / 1000).toFixed(1)}s`, '-', '-', '-', '-']);
      continue;
    }
    const b = await reprotest(name, fx, scratch);
    const supported = fx.breaks.every((v) => v in SHARED);
    const bOk = supported && b.named.join() === fx.breaks.join();
    reprotestOk += bOk ? 1 : 0;
    reprotestMs += b.ms;
    rows.push([
      name,
      expected,
      a.named.join(',') || '(none)',
      aOk ? 'yes' : 'NO',
      String(a.builds),
      `${(a.ms / 1000).toFixed(1)}s`,
      `${b.named.join(',') || '(none)'}${supported ? '' : ' (cannot vary it)'}`,
      bOk ? 'yes' : 'NO',
      `${(b.ms / 1000).toFixed(1)}s`,
      (b.ms / a.ms).toFixed(2),
    ]);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
console.log(`\nreprod check: ${reprodOk}/${counted} right, ${(reprodMs / 1000).toFixed(1)}s in all`);
if (withReprotest) {
  console.log(`reprotest --auto-build: ${reprotestOk}/${counted} right, ${(reprotestMs / 1000).toFixed(1)}s in all`);
  console.log(`time ratio reprotest / reprod: ${(reprotestMs / reprodMs).toFixed(2)}`);
}
