/**
 * Isolation proofs through the whole `reprod rebuild` pipeline (real CLI, real
 * signatures, real containers). A signed attestation asks for a build that looks
 * for reprod's signing key, API token and other secrets; its claimed output is
 * the report of a search that finds nothing, so `reproduced` (exit 0) means the
 * search found nothing. While it runs, every container of the job is read back
 * from the engine: no capabilities (prepare: only what copying needs),
 * no-new-privileges, network none, pids/memory/CPU/file-size limits, no host
 * mounts but the read-only source, no Docker socket, an environment holding only
 * the plan's variables.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type Docker from 'dockerode';
import { makeGitRepo } from '../../fixtures/repo.ts';
import { CONTAINER_LABEL } from '../../src/config/defaults.ts';
import { generateKeyFiles } from '../../src/publish/index.ts';
import { builderImageId, testDocker } from '../support/docker.ts';
import { Canary, sha256, signedContainerAttestation, signedStatements, Workspace } from './harness.ts';

const NODE = process.execPath;
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

const LIMITS = { timeoutSeconds: 120, fetchTimeoutSeconds: 60, memoryMb: 256, pids: 128, cpus: 1, logBytes: 1048576, outputBytes: 16777216, sourceBytes: 16777216, scratchBytes: 268435456 };

/** The search a hostile build runs; `ok` lines only when it finds nothing. */
const SEARCH = [
  'sleep 4',
  'places="$(awk \'$5 != "/" {print $5}\' /proc/self/mountinfo | grep -v -e ^/proc -e ^/sys -e ^/dev) /etc /root /home /tmp /run /var /mnt /srv /opt /media"',
  'echo "private-keys=$(grep -rlsE -- "-----BEGIN ([A-Z]+ )?PRIVATE KEY-----" $places | wc -l)"',
  // Spelled in two parts so this script (in the build folder) does not match itself.
  'secret="reprod-canary-""secret-"',
  'echo "secrets=$(grep -rlsF -e "$secret" $places | wc -l)"',
  'echo "env=$(tr \'\\0\' \'\\n\' < /proc/self/environ | grep -c -e REPROD_ -e "$secret" -e DOCKER_)"',
  'echo "docker-socket=$(ls /var/run/docker.sock /run/docker.sock 2>/dev/null | wc -l)"',
].join('\n');
const EXPECTED = 'private-keys=0\nsecrets=0\nenv=0\ndocker-socket=0\n';

let root: string;
let docker: Docker;
let canary: Canary;
let ws: Workspace;
let attestation: string;
let configPath: string;
let keyPath: string;
let outDir: string;
let marker: string;

before(async () => {
  docker = await testDocker();
  const imageId = await builderImageId();
  root = await mkdtemp(join(tmpdir(), 'reprod-hostile-iso-'));
  canary = new Canary(join(root, 'canary'));
  marker = canary.marker;
  // reprod's own key and the upstream key live in the canary folder: it must stay as it is.
  const reprodKey = await generateKeyFiles(join(canary.dir, 'keys', 'reprod'));
  const upstream = await generateKeyFiles(join(canary.dir, 'keys', 'upstream'));
  await canary.arm();
  keyPath = reprodKey.privatePath;
  const projectDir = join(root, 'project');
  await mkdir(projectDir);
  await writeFile(join(projectDir, 'search.sh'), `${SEARCH}\n`);
  const repo = await makeGitRepo(projectDir, join(root, 'repo'));
  const bytes = await signedContainerAttestation(upstream.privatePath, {
    repo: repo.url,
    commit: repo.commit,
    image: imageId,
    command: ['sh', '-c', 'sh search.sh > search-result.txt'],
    outputs: { 'search-result.txt': 'search-result.txt' },
    digests: { 'search-result.txt': sha256(EXPECTED) },
    env: { HOSTILE_MARKER: marker },
  });
  attestation = join(root, 'attestation', 'hostile.sigstore.json');
  await mkdir(join(root, 'attestation'));
  await writeFile(attestation, bytes);
  // The claimed output beside the attestation: a mismatch then gets a diff report naming what was found.
  await writeFile(join(root, 'attestation', 'search-result.txt'), EXPECTED);
  outDir = join(root, 'out');
  configPath = join(root, 'reprod.yaml');
  await writeFile(
    configPath,
    JSON.stringify({
      dataDir: join(root, 'data'),
      docker: { fetchNetwork: 'none' },
      limits: LIMITS,
      trust: { keys: [{ id: 'upstream', path: upstream.publicPath }], allowFileSources: true },
      signing: { key: reprodKey.privatePath },
      daemon: { api: { token: canary.secret } },
    }),
  );
  ws = new Workspace(root, [join(root, 'data'), outDir]);
  await ws.snapshot();
});

after(() => rm(root, { recursive: true, force: true }));

type Inspected = Awaited<ReturnType<Docker.Container['inspect']>>;

test('a build searching for the key and secrets finds nothing; its containers are locked down as the engine reports them', { timeout: 300_000 }, async () => {
  const seen = new Map<string, Inspected>();
  const child = spawn(NODE, [MAIN, 'rebuild', attestation, '--config', configPath, '--out', outDir, '--json'], {
    env: { ...process.env, REPROD_API_TOKEN: canary.secret, REPROD_HOSTILE_SECRET: canary.secret, DOCKER_SECRET: canary.secret },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    for (const c of await docker.listContainers({ all: true, filters: { label: [CONTAINER_LABEL] } }).catch(() => [])) {
      if (seen.has(c.Id)) continue;
      const info = await docker.getContainer(c.Id).inspect().catch(() => undefined);
      if (info?.Config.Env?.includes(`HOSTILE_MARKER=${marker}`)) seen.set(c.Id, info);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  const code = await exited;
  const [verdict] = JSON.parse(stdout || '[]') as { outcome: string; dir: string }[];
  assert.ok(verdict, `reprod rebuild exited ${code}\n${stderr}`);
  // What the search found (the rebuilt artifact is published beside the verdict).
  assert.equal(await readFile(join(verdict.dir, 'search-result.txt'), 'utf8'), EXPECTED);
  assert.equal(verdict.outcome, 'reproduced');
  assert.equal(code, 0);

  const byPhase = new Map([...seen.values()].map((i) => [i.Config.Labels?.['dev.reprod.phase'] ?? '?', i]));
  assert.deepEqual([...byPhase.keys()].sort(), ['build', 'prepare'], 'the job\'s containers were not all seen');
  for (const [phase, i] of byPhase) {
    const h = i.HostConfig;
    assert.deepEqual(h.CapDrop, ['ALL'], phase);
    assert.deepEqual(h.CapAdd ?? [], phase === 'prepare' ? ['CHOWN', 'DAC_OVERRIDE', 'FOWNER'] : [], phase);
    assert.deepEqual(h.SecurityOpt, ['no-new-privileges'], phase);
    assert.equal(h.Privileged, false, phase);
    assert.equal(h.NetworkMode, 'none', phase);
    assert.equal(h.PidsLimit, LIMITS.pids, phase);
    assert.equal(h.Memory, LIMITS.memoryMb * 1024 * 1024, phase);
    assert.equal(h.MemorySwap, LIMITS.memoryMb * 1024 * 1024, phase);
    assert.equal(h.NanoCpus, LIMITS.cpus * 1e9, phase);
    assert.deepEqual(h.Ulimits, [{ Name: 'fsize', Soft: LIMITS.scratchBytes, Hard: LIMITS.scratchBytes }], phase);
    assert.deepEqual(h.Devices ?? [], [], phase);
    assert.deepEqual(h.Binds ?? [], [], phase);
    assert.equal(h.PidMode ?? '', '', phase);
    assert.equal(h.IpcMode === 'host', false, phase);
    const mounts = i.Mounts.map((m) => ({ type: m.Type, destination: m.Destination, rw: m.RW, source: m.Type === 'bind' ? m.Source : '' }));
    const volume = mounts.filter((m) => m.type === 'volume');
    assert.equal(volume.length, 1, phase);
    const binds = mounts.filter((m) => m.type === 'bind');
    if (phase === 'prepare') {
      // Only the source, read-only, from the data folder's cache.
      assert.equal(binds.length, 1, JSON.stringify(binds));
      assert.equal(binds[0]!.rw, false);
      assert.ok(binds[0]!.source.startsWith(join(root, 'data')), binds[0]!.source);
    } else assert.deepEqual(binds, [], phase);
    for (const m of mounts) assert.ok(!/docker\.sock|keys|canary/.test(`${m.source} ${m.destination}`), `${phase} mounts ${JSON.stringify(m)}`);
    const env = (i.Config.Env ?? []).map((e) => e.split('=')[0]).sort();
    // PATH comes from the image's own config; everything else is the plan's.
    assert.deepEqual(env, ['HOSTILE_MARKER', 'LC_ALL', 'PATH', 'SOURCE_DATE_EPOCH', 'TZ'], phase);
    assert.ok(!(i.Config.Env ?? []).some((e) => e.includes(canary.secret)), phase);
  }

  // Nothing outside reprod's folders changed; the only signed verdict is this honest PASSED one.
  await canary.assertUntouched();
  await ws.assertNothingWrittenOutside();
  const signed = await signedStatements(outDir);
  assert.deepEqual(signed.filter((s) => s.result).map((s) => s.result), ['PASSED']);
  assert.ok((await readFile(keyPath, 'utf8')).includes('PRIVATE KEY'));
});
