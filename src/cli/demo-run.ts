import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { generateFixtures, type FixtureCase } from '../../fixtures/generate.ts';
import { DEFAULT_BUILDER_IMAGE, DEFAULT_DOCKER_SOCKET } from '../config/defaults.ts';
import { runSetup } from './setup-run.ts';
import { parseConfig } from '../config/load.ts';
import { toReprodError } from '../errors.ts';
import { createLogger } from '../log/logger.ts';
import { connectDocker } from '../build/docker.ts';
import { resolveImage } from '../build/images.ts';
import { DirectorySink, generateKeyFiles } from '../publish/index.ts';
import { rebuildAttestation } from '../pipeline/rebuild.ts';
import { wireContext } from '../pipeline/wire.ts';
import { ProgressDisplay } from './progress-display.ts';
import { EXIT_ERROR, EXIT_OK } from './program.ts';

interface Row {
  c: FixtureCase;
  got: string;
  dir?: string;
  ok: boolean;
}

function expected(c: FixtureCase): string {
  return c.expect.code ? `error[${c.expect.code}]` : c.expect.outcome;
}

function table(rows: Row[], cwd: string): string {
  const w = Math.max(...rows.map((r) => r.c.name.length)) + 2;
  const e = Math.max(...rows.map((r) => expected(r.c).length)) + 2;
  const g = Math.max(...rows.map((r) => r.got.length)) + 2;
  const head = `   ${'case'.padEnd(w)}${'expected'.padEnd(e)}${'got'.padEnd(g)}output`;
  const lines = rows.map((r) => `${r.ok ? '✔' : '✖'}  ${r.c.name.padEnd(w)}${expected(r.c).padEnd(e)}${r.got.padEnd(g)}${r.dir ? relative(cwd, r.dir) : '(nothing signed: the attestation did not verify)'}`);
  return [head, ...lines].join('\n');
}

/**
 * The whole story on the embedded default: Docker and the builder image, the
 * fixture projects as git repositories with signed upstream attestations, then
 * a real rebuild of each, ending in a table of verdicts.
 */
export async function runDemo(opts: { dir: string; only?: string[]; out?: NodeJS.WriteStream }): Promise<number> {
  const out = opts.out ?? process.stdout;
  const say = (s: string) => out.write(`${s}\n`);
  const dir = resolve(opts.dir);
  const logger = createLogger({ level: process.env.REPROD_LOG_LEVEL ?? 'error' });
  say(`reprod demo — working in ${relative(process.cwd(), dir) || '.'}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });

  say('1. Docker and the builder image (reprod setup)');
  // The same set-up as `reprod setup`: installs/starts Docker if needed and builds the image once.
  await runSetup({ quiet: false, image: DEFAULT_BUILDER_IMAGE, socket: DEFAULT_DOCKER_SOCKET });
  const docker = await connectDocker(DEFAULT_DOCKER_SOCKET);
  const imageId = await resolveImage(docker, DEFAULT_BUILDER_IMAGE);
  say(`   ${DEFAULT_BUILDER_IMAGE} = ${imageId}`);

  say('2. Fixture projects, upstream builds and signed upstream attestations');
  const fixtures = await generateFixtures({ root: join(dir, 'fixtures'), docker, imageId, logger, onProgress: (m) => say(`   ${m}`), ...(opts.only ? { only: opts.only } : {}) });
  const reprodKey = await generateKeyFiles(join(dir, 'keys', 'reprod'));
  const raw = {
    dataDir: 'data',
    docker: { fetchNetwork: 'host' },
    trust: { keys: [{ id: fixtures.key.keyId, path: relative(dir, fixtures.key.publicPath) }], allowFileSources: true, sourceHosts: [] },
    signing: { key: relative(dir, reprodKey.privatePath) },
    rebuilders: { npm: { registryMetadata: false } },
  };
  const configFile = join(dir, 'reprod.yaml');
  await writeFile(configFile, `# written by reprod demo\n${JSON.stringify(raw, null, 2)}\n`);
  const ctx = await wireContext({ loaded: { config: parseConfig(raw, configFile), baseDir: dir, path: configFile }, logger, outDir: join(dir, 'out') });
  say(`   upstream key ${relative(process.cwd(), fixtures.key.publicPath)}, reprod key ${relative(process.cwd(), reprodKey.publicPath)}, config ${relative(process.cwd(), configFile)}`);

  say('3. Rebuilding every attestation');
  const rows: Row[] = [];
  for (const c of fixtures.cases) {
    say(`\n── ${c.name}: ${c.description}`);
    const display = new ProgressDisplay();
    try {
      // One output tree per case: several cases share a subject digest (the hostile hello-c variants).
      const caseCtx = { ...ctx, publish: { ...ctx.publish, directory: new DirectorySink(join(dir, 'out', c.name)) } };
      const [v] = await rebuildAttestation(await readFile(c.attestation), caseCtx, { uri: c.attestation, onProgress: display.handle });
      const got = v!.error ? `error[${v!.error.code}]` : v!.outcome;
      rows.push({ c, got, dir: v!.dir, ok: got === expected(c) });
    } catch (e) {
      const err = toReprodError(e);
      rows.push({ c, got: `error[${err.code}]`, ok: `error[${err.code}]` === expected(c) });
    } finally {
      display.stop();
    }
  }

  say('\n4. Verdicts\n');
  say(table(rows, process.cwd()));
  const mismatch = rows.find((r) => r.got === 'not-reproduced' && r.dir);
  if (mismatch) {
    say(`\nWhy ${mismatch.c.name} did not reproduce (${relative(process.cwd(), join(mismatch.dir!, 'report.txt'))}, also report.html):\n`);
    const text = await readFile(join(mismatch.dir!, 'report.txt'), 'utf8');
    say(text.split('\n').slice(0, 30).join('\n'));
  }
  say(`\nEach output folder holds verdict.json, vsa.sigstore.json and rebuild.sigstore.json (signed with ${relative(process.cwd(), reprodKey.publicPath)}'s key),`);
  say('build.log, the rebuilt artifact, and on a mismatch report.{txt,json,html}.');
  const ok = rows.every((r) => r.ok);
  say(ok ? '\nDemo finished: every verdict is what the fixture was made to show.' : '\nDemo finished, but some verdicts were not the expected ones (✖ above).');
  return ok ? EXIT_OK : EXIT_ERROR;
}

