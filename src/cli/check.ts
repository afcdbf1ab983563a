import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { DEFAULT_BUILDER_IMAGE } from '../config/defaults.ts';
import { configPath, loadConfig } from '../config/load.ts';
import { ReprodError } from '../errors.ts';
import { renderCheck, type CheckFormat } from '../check/report.ts';
import type { CheckProgress } from '../check/run.ts';
import { checkWithDocker, controlPlan, DEFAULT_CHECK_EPOCH } from '../check/runner.ts';
import { connectEngine, gitSource, localSource, resolveCheckImage } from '../check/setup.ts';
import { parseVaryList, VARIATIONS } from '../check/variations.ts';
import type { RegisterCommand } from './commands.ts';
import { EXIT_NEGATIVE, EXIT_OK } from './program.ts';

interface CheckCliOptions {
  git?: string;
  commit?: string;
  build: string;
  output: string[];
  image: string;
  vary?: string;
  runs: string;
  jobs: string;
  format: CheckFormat;
  out?: string;
  sourceDateEpoch?: string;
  config?: string;
  keep: boolean;
}

/** One line per build on stderr: redrawn in place on a terminal, plain lines otherwise. */
function progressPrinter(out: NodeJS.WriteStream = process.stderr): { onProgress: (p: CheckProgress) => void; done: () => void } {
  const tty = out.isTTY === true;
  return {
    onProgress: (p) => {
      const what = p.variations.length === 0 ? 'no variation' : p.variations.length > 4 ? `${p.variations.length} variations` : p.variations.join(' + ');
      const line = `build ${p.build} (${p.purpose}): ${what}; at most ~${p.left} more`;
      out.write(tty ? `\r\x1b[K${line.slice(0, (out.columns ?? 80) - 1)}` : `${line}\n`);
    },
    done: () => {
      if (tty) out.write('\r\x1b[K');
    },
  };
}

function positiveInt(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ReprodError('USAGE', `${name} must be a whole number >= 1, got ${JSON.stringify(value)}`);
  return n;
}

export const register: RegisterCommand = (program: Command) => {
  program
    .command('check')
    .description(
      'Find which part of the build environment makes a build unreproducible. Builds the project once as the control ' +
        '(reprod\'s hermetic defaults), then with every variation at once; if an output differs, bisects over the ' +
        'variations (delta debugging, fewest builds) to the minimal set that reproduces the difference, and explains it ' +
        'with the diff engine, showing where recognisable canary values (hostname, build path, user …) landed in the bytes.\n' +
        'Every build runs in a hermetic container (network off, no capabilities); nothing is installed on the host.\n' +
        'Exit codes: 0 reproducible under every variation tried, 1 not reproducible, 2 error.',
    )
    .argument('[dir]', 'the project folder to build (default: the current folder; or use --git and --commit)')
    .option('--git <url>', 'build a git repository instead of a folder (https:// or file:// URL)')
    .option('--commit <sha>', 'the 40-hex commit to build with --git')
    .requiredOption('--build <cmd>', 'shell command that builds the project, run in the build folder (sh -c)')
    .requiredOption('--output <paths...>', 'output files to compare, relative to the build folder')
    .option('--image <ref>', 'builder image: name, name@sha256:… or sha256:<image id>', DEFAULT_BUILDER_IMAGE)
    .option('--vary <list>', `variations, comma-separated, or "all"; prefix with - to leave one out (all: ${VARIATIONS.join(', ')})`, 'all')
    .option('--runs <n>', 'control builds; 2 or more also catches nondeterminism no variation explains (randomness)', '1')
    .option('--jobs <n>', 'builds at once while bisecting: 1 makes the fewest builds, 2 finishes sooner with a few speculative ones', '1')
    .addOption(new Option('--format <format>', 'report format').choices(['text', 'json', 'html']).default('text'))
    .option('--out <file>', 'write the report to this file instead of stdout')
    .option('--source-date-epoch <n>', `SOURCE_DATE_EPOCH of the control (default: the commit time with --git, else ${DEFAULT_CHECK_EPOCH})`)
    .option('--config <file>', 'reprod config (docker socket, limits, data folder)')
    .option('--keep', 'keep every build\'s outputs and log in a temp folder and print where', false)
    .addHelpText(
      'after',
      '\nVariations (control → experiment):\n' +
        '  clock              real time → +398 days via libfaketime (needs `apt-get install -y faketime` on the host)\n' +
        '  source-date-epoch  set → unset\n' +
        '  build-path         /build/src → /build/reprod-canary-path\n' +
        '  umask              022 → 002\n' +
        '  timezone           UTC → REPRODCANARY-14\n' +
        '  locale             C.UTF-8 → et_EE.UTF-8 (compiled on the host with localedef)\n' +
        '  hostname           reprod-builder → reprod-canary-host\n' +
        '  user               root → uid 1234, USER=reprod-canary-user\n' +
        '  home               image HOME → /nonexistent/reprod-canary-home\n' +
        '  env                plan order → reversed, plus REPROD_CANARY=reprod-canary-env\n' +
        '  path               image PATH → /reprod-canary-bin prepended\n' +
        '  cpus               all CPUs → 1 (taskset)\n' +
        '  fs-order           readdir order → reversed (LD_PRELOAD shim compiled with the host cc)\n' +
        '  kernel             host uname → setarch i686 --uname-2.6\n' +
        'A variation whose host tool is missing is reported as skipped, with the command that installs it.\n' +
        '\nExamples:\n' +
        "  reprod check . --build 'make dist' --output dist/app.tar.gz\n" +
        "  reprod check ./proj --build 'sh build.sh' --output out/a.bin out/b.tar --vary hostname,build-path,umask\n" +
        "  reprod check --git https://example.org/p.git --commit 0123…cdef --build 'make' --output app --format html --out check.html\n",
    )
    .action(async (dir: string | undefined, opts: CheckCliOptions) => {
      if ((opts.git === undefined) !== (opts.commit === undefined)) throw new ReprodError('USAGE', '--git and --commit go together');
      if (opts.git !== undefined && dir !== undefined) throw new ReprodError('USAGE', 'give a folder or --git/--commit, not both');
      const variations = parseVaryList(opts.vary);
      const runs = positiveInt(opts.runs, '--runs');
      const jobs = positiveInt(opts.jobs, '--jobs');
      const loaded = loadConfig(opts.config);
      const dataDir = configPath(loaded, loaded.config.dataDir);
      const docker = await connectEngine(loaded.config.docker.socket);
      const imageId = await resolveCheckImage(docker, opts.image, (step, detail) => process.stderr.write(`builder image ${opts.image}: ${step}${detail ? ` ${detail}` : ''}\n`));
      const src = opts.git !== undefined ? await gitSource(opts.git, opts.commit!, dataDir) : await localSource(dir ?? '.');
      const epoch =
        opts.sourceDateEpoch !== undefined ? positiveInt(opts.sourceDateEpoch, '--source-date-epoch') : (src.commitTime ?? DEFAULT_CHECK_EPOCH);
      const control = controlPlan({
        imageId,
        imageRef: opts.image,
        build: opts.build,
        outputs: opts.output,
        sourceDateEpoch: epoch,
        source: { repo: opts.git ?? src.dir, commit: opts.commit ?? '' },
        limits: loaded.config.limits,
      });
      const progress = progressPrinter();
      const abort = new AbortController();
      const onSigint = () => abort.abort();
      process.once('SIGINT', onSigint);
      try {
        const report = await checkWithDocker({
          docker,
          control,
          sourceDir: src.dir,
          variations,
          runs,
          jobs,
          cacheDir: dataDir,
          source: src.source,
          onProgress: progress.onProgress,
          signal: abort.signal,
          keep: opts.keep,
        });
        progress.done();
        const rendered = renderCheck(report, opts.format);
        if (opts.out !== undefined) {
          await writeFile(opts.out, rendered);
          process.stderr.write(`report written to ${opts.out}\n`);
        } else process.stdout.write(rendered);
        if (report.workDir) process.stderr.write(`builds kept in ${report.workDir}\n`);
        process.exitCode = report.reproducible ? EXIT_OK : EXIT_NEGATIVE;
      } finally {
        process.off('SIGINT', onSigint);
        progress.done();
      }
    });
};
