/**
 * `npm run bench:diff`: reprod diff beside Debian's diffoscope on the same pair
 * of ~68 MB .tar.gz files (5,024 members: 4,000 ~6 KiB text files, 1,000 random
 * 60 KiB files, 20 ELF binaries of this machine, 4 more), 6 members differing by
 * planted causes. Two variants: identical metadata, and unsorted order + uid 1000
 * + current mtimes. Prints wall time and peak RSS of each tool (GNU time) and
 * the ratios, checks both found the same differing members, and ends with a
 * side-by-side table against the goals of issue 5.
 *
 * Env: BENCH_DIFF_DIR keeps the generated pair in that directory and reuses it on the next run;
 * BENCH_DIFF_RUNS reprod runs per variant (default 3, the median is reported); BENCH_DIFF_DIFFOSCOPE=0
 * times reprod alone (quick iterations).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The launcher users run (it also points Node's compile cache at the temp dir). */
const REPROD = join(ROOT, 'src/cli/reprod');
const TEXT = 4000;
const RANDOM = 1000;
const ELFS = 20;

/** Deterministic bytes (AES-CTR keystream over a seed): the same member on both sides without keeping it. */
function bytes(seed: string, n: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32)).update(Buffer.alloc(n));
}

const WORDS = 'the quick brown fox jumps over lazy dog build reproducible source package compiler linker archive member header digest'.split(' ');
function text(i: number): string {
  const r = bytes(`t${i}`, 1200);
  const lines: string[] = [];
  let k = 0;
  while (lines.join('\n').length < 6000) {
    const w: string[] = [];
    for (let j = 0; j < 10; j++) w.push(WORDS[r[k++ % r.length]! % WORDS.length]!);
    lines.push(`${lines.length + 1}: ${w.join(' ')}`);
  }
  return `${lines.join('\n')}\n`;
}

async function elfs(): Promise<string[]> {
  const out: string[] = [];
  for (const n of (await readdir('/usr/bin')).sort()) {
    if (out.length >= ELFS) break;
    const p = join('/usr/bin', n);
    const st = await stat(p).catch(() => undefined);
    if (!st?.isFile() || st.size < 50_000 || st.size > 1_500_000) continue;
    const h = (await readFile(p)).subarray(0, 4);
    if (h.toString('latin1') === '\x7fELF') out.push(p);
  }
  return out;
}

interface Member {
  name: string;
  body: () => Promise<Buffer> | Buffer;
}

/** The 5,024 members of one side; `side` b carries the 6 planted differences. */
function members(side: 'a' | 'b', elfPaths: string[], hello: Record<'a' | 'b', Buffer>): Member[] {
  const m: Member[] = [];
  for (let i = 0; i < TEXT; i++) {
    const name = `pkg/doc/t${String(i).padStart(4, '0')}.txt`;
    m.push({
      name,
      body: () => {
        let t = text(i);
        if (i === 100) t = `generated on ${side === 'a' ? '2026-11-22 10:00:01' : '2026-11-23 08:41:17'}\n${t}`;
        if (i === 200) t = `source: ${side === 'a' ? '/build/pkg-Ab12/src/main.c' : '/tmp/pkg-Zx98/src/main.c'}\n${t}`;
        return Buffer.from(t);
      },
    });
  }
  for (let i = 0; i < RANDOM; i++) {
    m.push({
      name: `pkg/data/r${String(i).padStart(4, '0')}.bin`,
      body: () => {
        const b = bytes(`r${i}`, 60 * 1024);
        if (i === 400 && side === 'b') bytes('planted', 16).copy(b, 30_000);
        return b;
      },
    });
  }
  for (const p of elfPaths) m.push({ name: `pkg/bin/${p.split('/').pop()}`, body: () => readFile(p) });
  m.push({ name: 'pkg/bin/hello', body: () => hello[side] });
  m.push({ name: 'pkg/package.json', body: () => Buffer.from(side === 'a' ? '{"name":"pkg","version":"1.0.0","license":"MIT"}\n' : '{"version":"1.0.0","name":"pkg","license":"MIT"}\n') });
  m.push({ name: 'pkg/BUILDINFO', body: () => Buffer.from(`hostname: ${side === 'a' ? 'buildd-alpha' : 'ci-runner-7'}\n`) });
  m.push({ name: 'pkg/README', body: () => Buffer.from('hello\n') });
  return m;
}

async function writeTgz(path: string, list: Member[], meta: { uid: number; mtime: Date }): Promise<void> {
  const p = pack();
  const done = pipeline(p, createGzip({ level: 6 }), createWriteStream(path));
  for (const m of list) {
    const body = await m.body();
    await new Promise<void>((res, rej) => p.entry({ name: m.name, mode: 0o644, uid: meta.uid, gid: meta.uid, uname: meta.uid ? 'builder' : 'root', gname: meta.uid ? 'builder' : 'root', mtime: meta.mtime }, body, (e) => (e ? rej(e) : res())));
  }
  p.finalize();
  await done;
}

interface Run {
  seconds: number;
  maxRssMb: number;
  code: number | null;
}

/** One command under GNU time: wall seconds and peak RSS (of the process tree's largest member). */
function timed(cmd: string, args: string[], timeoutS: number): Promise<Run> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', 'MAXRSS %M', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutS * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const rss = Number(/MAXRSS (\d+)/.exec(err)?.[1] ?? 0) / 1024;
      resolve({ seconds: Number(process.hrtime.bigint() - t0) / 1e9, maxRssMb: rss, code });
    });
  });
}

/** diffoscope JSON: the names of tar members whose subtree holds a difference. */
function diffoscopeMembers(j: unknown): Set<string> {
  const out = new Set<string>();
  const walk = (n: { source1?: string; details?: unknown[] }, depth: number) => {
    for (const d of (n.details ?? []) as { source1?: string; details?: unknown[] }[]) {
      const name = d.source1 ?? '';
      if (/^pkg\//.test(name)) out.add(name);
      else if (depth < 3) walk(d, depth + 1);
    }
  };
  walk(j as { details?: unknown[] }, 0);
  return out;
}

function reprodMembers(j: { differences: { path: string[]; kind: string }[] }): Set<string> {
  const out = new Set<string>();
  for (const d of j.differences) if (d.kind === 'content') for (const seg of d.path) if (/^pkg\/[^*]+$/.test(seg)) out.add(seg);
  return out;
}

async function main(): Promise<void> {
  const keep = process.env.BENCH_DIFF_DIR;
  const dir = keep ?? (await mkdtemp(join(tmpdir(), 'reprod-bench-diff-')));
  const runsPer = Math.max(1, Number(process.env.BENCH_DIFF_RUNS ?? 3));
  const withDiffoscope = process.env.BENCH_DIFF_DIFFOSCOPE !== '0';
  try {
    const hasDiffoscope = existsSync('/usr/bin/diffoscope');
    if (withDiffoscope && !hasDiffoscope) {
      if (process.getuid?.() === 0) execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'diffoscope'], { stdio: 'inherit' });
      else console.log('diffoscope missing and not root: apt-get install -y --no-install-recommends diffoscope; reprod alone is timed');
    }
    const elfPaths = await elfs();
    if (!keep || !existsSync(join(dir, 'b-meta.tar.gz'))) {
      await mkdir(dir, { recursive: true });
      const src = join(dir, 'hello.c');
      await writeFile(src, '#include <stdio.h>\nint main(void){puts("built " __DATE__ " " __TIME__);return 0;}\n');
      const hello = { a: Buffer.alloc(0), b: Buffer.alloc(0) };
      for (const [side, epoch] of [['a', '1700000000'], ['b', '1700100000']] as const) {
        execFileSync('gcc', ['-O1', '-Wno-date-time', '-o', join(dir, `hello-${side}`), src], { env: { ...process.env, SOURCE_DATE_EPOCH: epoch } });
        hello[side] = await readFile(join(dir, `hello-${side}`));
      }
      const fixed = new Date('2026-01-01T00:00:00Z');
      console.log('generating the pair …');
      await writeTgz(join(dir, 'a.tar.gz'), members('a', elfPaths, hello), { uid: 0, mtime: fixed });
      await writeTgz(join(dir, 'b-same-meta.tar.gz'), members('b', elfPaths, hello), { uid: 0, mtime: fixed });
      await writeTgz(join(dir, 'b-meta.tar.gz'), members('b', elfPaths, hello).reverse(), { uid: 1000, mtime: new Date() });
    }
    const size = (await stat(join(dir, 'a.tar.gz'))).size;
    console.log(`a.tar.gz: ${(size / 1e6).toFixed(1)} MB, ${TEXT + RANDOM + elfPaths.length + 4} members, 6 differing\n`);
    // Warm Node's compile cache once, as any earlier reprod command on the machine would have.
    execFileSync(REPROD, ['diff', '--help'], { stdio: 'ignore' });
    const expected = new Set(['pkg/doc/t0100.txt', 'pkg/doc/t0200.txt', 'pkg/data/r0400.bin', 'pkg/bin/hello', 'pkg/package.json', 'pkg/BUILDINFO']);
    const rows: string[][] = [];
    for (const variant of ['b-same-meta', 'b-meta']) {
      const b = join(dir, `${variant}.tar.gz`);
      const rOut = join(dir, `${variant}.reprod.json`);
      // reprod is cheap to repeat: the median of the runs (peak RSS: the largest) damps other load on the machine.
      const runs: Run[] = [];
      for (let i = 0; i < runsPer; i++) runs.push(await timed(REPROD, ['diff', join(dir, 'a.tar.gz'), b, '--format', 'json', '--max-report-bytes', String(64 * 1024 * 1024), '-o', rOut], 600));
      const r: Run = { seconds: runs.map((x) => x.seconds).sort((x, y) => x - y)[Math.floor(runs.length / 2)]!, maxRssMb: Math.max(...runs.map((x) => x.maxRssMb)), code: runs[0]!.code };
      const rj = JSON.parse(await readFile(rOut, 'utf8')) as { differences: { path: string[]; kind: string; causes: { cause: string }[] }[]; summary: unknown };
      const rm1 = reprodMembers(rj);
      console.log(`[${variant}] reprod diff: ${r.seconds.toFixed(2)} s (median of ${runs.map((x) => x.seconds.toFixed(2)).join(', ')}), peak RSS ${r.maxRssMb.toFixed(0)} MB (largest of ${runs.map((x) => x.maxRssMb.toFixed(0)).join(', ')}), exit ${r.code}`);
      console.log(`  differing members: ${[...rm1].sort().join(', ')}`);
      console.log(`  causes: ${JSON.stringify(rj.summary)}`);
      console.log(`  planted found: ${[...expected].every((e) => rm1.has(e)) ? 'all 6' : `MISSING ${[...expected].filter((e) => !rm1.has(e)).join(', ')}`}`);
      const row = [variant, r.seconds.toFixed(2), r.maxRssMb.toFixed(0)];
      if (!withDiffoscope || !existsSync('/usr/bin/diffoscope')) {
        rows.push([...row, '-', '-', '-', '-', '-']);
        continue;
      }
      const dOut = join(dir, `${variant}.diffoscope.json`);
      const d = await timed('/usr/bin/diffoscope', ['--json', dOut, join(dir, 'a.tar.gz'), b], 1800);
      const dm = existsSync(dOut) ? diffoscopeMembers(JSON.parse(await readFile(dOut, 'utf8'))) : new Set<string>();
      console.log(`[${variant}] diffoscope:  ${d.seconds.toFixed(2)} s, peak RSS ${d.maxRssMb.toFixed(0)} MB, exit ${d.code}`);
      console.log(`  differing members: ${[...dm].sort().join(', ')}`);
      const same = dm.size === rm1.size && [...dm].every((x) => rm1.has(x));
      console.log(`  same differing members: ${same ? 'yes' : 'NO'}`);
      console.log(`  => reprod is ${(d.seconds / r.seconds).toFixed(1)}x faster, memory ratio reprod/diffoscope ${(r.maxRssMb / d.maxRssMb).toFixed(2)}\n`);
      rows.push([...row, d.seconds.toFixed(1), d.maxRssMb.toFixed(0), `${(d.seconds / r.seconds).toFixed(1)}x`, (r.maxRssMb / d.maxRssMb).toFixed(2), same ? `yes (${dm.size})` : 'NO']);
    }
    // Side by side, with the goals of issue 5: at least 20x faster, no more memory, the same leaves.
    const head = ['variant', 'reprod s', 'reprod MB', 'diffoscope s', 'diffoscope MB', 'speed-up', 'RSS ratio', 'same leaves'];
    const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    for (const r of [head, ...rows]) console.log(r.map((c, i) => c.padEnd(width[i]!)).join('  '));
    const met = rows.every((r) => r[5] !== '-' && Number.parseFloat(r[5]!) >= 20 && Number(r[6]) <= 1 && r[7]!.startsWith('yes'));
    if (rows.every((r) => r[5] !== '-')) console.log(`goals (>= 20x, RSS <= diffoscope, same leaves, both variants): ${met ? 'met' : 'NOT met'}`);
  } finally {
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
}

await main();
