/**
 * Makes a machine ready to rebuild: Debian's `docker.io` and `mmdebstrap` installed,
 * a Docker engine answering, the default builder image built. Each step checks
 * first and does nothing when all is there, so `reprod setup` is fast when re-run.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { ReprodError } from '../errors.ts';
import { connectDocker } from './docker.ts';

const run = promisify(execFile);

/** Host tools and the Debian package that provides each. */
export const HOST_TOOLS: ReadonlyArray<{ tool: string; pkg: string }> = [
  { tool: 'dockerd', pkg: 'docker.io' },
  { tool: 'mmdebstrap', pkg: 'mmdebstrap' },
];
export const ENGINE_START_TIMEOUT_MS = 60_000;
export const DOCKERD_LOG = join(tmpdir(), 'reprod-dockerd.log');

export async function which(tool: string): Promise<string | undefined> {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin', '/usr/bin', '/usr/local/sbin']);
  for (const dir of dirs) {
    const p = join(dir, tool);
    if (await access(p, 1).then(() => true, () => false)) return p;
  }
  return undefined;
}

/**
 * Debian packages the test suite uses on the host (a throw-away PostgreSQL,
 * headless Chromium for the dashboard, libfaketime/locales/cc for `reprod check`,
 * gpgv and the archive keyring for Debian index checks, gpg for the tests'
 * throw-away signing keys). Installed in one apt
 * run by `reprod setup --test-tools`, so test files never race for dpkg's lock.
 */
export const TEST_PACKAGES: readonly string[] = [
  'postgresql', 'chromium', 'faketime', 'gcc', 'libc6-dev', 'locales', 'gpgv', 'gnupg', 'debian-archive-keyring', 'xz-utils', 'zstd', 'binutils',
];

/** The packages of `pkgs` dpkg does not have installed. */
export async function uninstalled(pkgs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const pkg of pkgs) {
    const status = await run('dpkg-query', ['-W', '-f=${Status}', pkg]).then((r) => r.stdout, () => '');
    if (!status.includes('install ok installed')) out.push(pkg);
  }
  return out;
}

export async function missingPackages(): Promise<string[]> {
  const missing: string[] = [];
  for (const { tool, pkg } of HOST_TOOLS) if (!(await which(tool))) missing.push(pkg);
  return missing;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** apt-get update once, then install; as non-root, say exactly what to run. */
export async function installPackages(pkgs: string[], say: (line: string) => void): Promise<void> {
  if (pkgs.length === 0) return;
  const command = `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
  if (!isRoot()) {
    throw new ReprodError('SETUP_FAILED', `missing packages: ${pkgs.join(', ')}. As root, run:\n  ${command}\nthen run \`reprod setup\` again`, { details: { packages: pkgs } });
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const opts = { env, maxBuffer: 64 << 20 };
  try {
    say('apt-get update');
    await run('apt-get', ['update'], opts);
    say(`apt-get install ${pkgs.join(' ')}`);
    await run('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], opts);
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new ReprodError('SETUP_FAILED', `${command} failed: ${(err.stderr ?? err.message).trim().split('\n').slice(-5).join('\n')}`, { cause: e });
  }
}

/** Connects to the engine, starting `dockerd` in the background (detached) when none answers. */
export async function ensureEngine(socket: string | undefined, say: (line: string) => void): Promise<{ docker: Docker; started: boolean }> {
  try {
    return { docker: await connectDocker(socket), started: false };
  } catch (e) {
    if (/EACCES/.test((e as Error).message)) {
      throw new ReprodError('DOCKER_UNAVAILABLE', `permission denied on ${socket ?? 'the Docker socket'}: run as root or add this user to the docker group`, { cause: e, retryable: true });
    }
    if (socket && socket !== '/var/run/docker.sock') throw e; // someone else's engine: not ours to start
    const dockerd = await which('dockerd');
    if (!dockerd) throw e;
    if (!isRoot()) {
      throw new ReprodError('DOCKER_UNAVAILABLE', 'no Docker engine answers and starting dockerd needs root: run `sudo dockerd &` (or `sudo reprod setup`)', { cause: e, retryable: true });
    }
    say(`starting dockerd (log: ${DOCKERD_LOG})`);
    const log = openSync(DOCKERD_LOG, 'a');
    // Its own session, no shared pipes: the engine outlives this command.
    const child = spawn(dockerd, [], { detached: true, stdio: ['ignore', log, log] });
    child.unref();
    closeSync(log);
    const deadline = Date.now() + ENGINE_START_TIMEOUT_MS;
    let exited = false;
    child.on('exit', () => (exited = true));
    while (Date.now() < deadline && !exited) {
      await sleep(500);
      const docker = await connectDocker(socket).catch(() => undefined);
      if (docker) return { docker, started: true };
    }
    const tail = (await readFile(DOCKERD_LOG, 'utf8').catch(() => '')).trim().split('\n').slice(-8).join('\n');
    throw new ReprodError('DOCKER_UNAVAILABLE', `dockerd ${exited ? 'exited' : `did not answer within ${ENGINE_START_TIMEOUT_MS / 1000}s`}; last lines of ${DOCKERD_LOG}:\n${tail}`, { retryable: true });
  }
}
