import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { resolveCheckImage } from '../../src/check/setup.ts';
import { builderImageId } from './docker.ts';

/**
 * The image `reprod check` tests build in: the builder image (`bookworm-build`,
 * test/support/docker.ts), else a minimal bookworm + build-essential made
 * here with mmdebstrap and imported once.
 */
const run = promisify(execFile);
const FALLBACK = 'reprod-check/bookworm-fallback:1';
let cached: Promise<string> | undefined;

async function fromBuilder(): Promise<string | undefined> {
  // The builder image may fail to build on a machine without mmdebstrap's apt sources; fall back then.
  return builderImageId().catch(() => undefined);
}

async function fallback(docker: Docker): Promise<string> {
  const have = await resolveCheckImage(docker, FALLBACK).catch(() => undefined);
  if (have) return have;
  const dir = await mkdtemp(join(tmpdir(), 'reprod-check-image-'));
  try {
    const tar = join(dir, 'rootfs.tar');
    await run('mmdebstrap', ['--variant=apt', '--include=build-essential', '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*', 'bookworm', tar], {
      env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' },
      maxBuffer: 64 * 1024 * 1024,
    });
    await run('docker', ['import', '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', tar, FALLBACK]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return resolveCheckImage(docker, FALLBACK);
}

export function checkImageId(docker: Docker): Promise<string> {
  cached ??= (async () => (await fromBuilder()) ?? (await fallback(docker)))();
  return cached;
}

/**
 * Host tools some variations need (libfaketime for `clock`, a C compiler for
 * the `fs-order` shim, localedef's sources for `locale`): installed with apt
 * when missing and root (as CI runs), else named in the error.
 */
const HOST_TOOLS = 'test -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 -o -e /usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1 && command -v cc && test -d /usr/share/i18n/locales';
let tools: Promise<void> | undefined;

export function ensureCheckHostTools(): Promise<void> {
  tools ??= (async () => {
    if (await run('sh', ['-c', HOST_TOOLS]).then(() => true, () => false)) return;
    const packages = ['faketime', 'gcc', 'libc6-dev', 'locales'];
    if (process.getuid?.() !== 0) throw new Error(`reprod check tests need host tools: apt-get install -y ${packages.join(' ')}`);
    const opts = { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 64 << 20 };
    const install = () => run('apt-get', ['install', '-y', '--no-install-recommends', ...packages], opts);
    // A fresh machine may have no package lists yet.
    await install().catch(async () => {
      await run('apt-get', ['update'], opts);
      await install();
    });
  })();
  return tools;
}
