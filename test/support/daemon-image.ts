/**
 * Local images for the daemon tests (no registry here): a minimal Debian bookworm
 * made with mmdebstrap (sh, coreutils, tar) and imported once, and the same plus
 * this machine's Node 24 binary — the BASE_IMAGE the repo's Dockerfile builds on.
 * Both are tagged under `reprod-daemon-test/` so they are ours to reuse.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const MINBASE_IMAGE = 'reprod-daemon-test/minbase:1';
export const NODE_BASE_IMAGE = 'reprod-daemon-test/node-base:24';

async function imageId(ref: string): Promise<string | undefined> {
  try {
    const { stdout } = await run('docker', ['image', 'inspect', '--format', '{{.Id}}', ref]);
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

let minbase: Promise<string> | undefined;
/** Id of the minimal image (`sha256:…`), built on first use. */
export function minbaseImage(): Promise<string> {
  minbase ??= (async () => {
    const have = await imageId(MINBASE_IMAGE);
    if (have) return have;
    const dir = await mkdtemp(join(tmpdir(), 'reprod-daemon-image-'));
    try {
      const tar = join(dir, 'rootfs.tar');
      await run('mmdebstrap', ['--variant=minbase', '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*', 'bookworm', tar], {
        env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' },
        maxBuffer: 64 * 1024 * 1024,
      });
      await run('docker', ['import', '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', tar, MINBASE_IMAGE]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return (await imageId(MINBASE_IMAGE))!;
  })();
  return minbase;
}

/** Minimal Debian + /usr/local/bin/node (Node 24 from node_modules): the Dockerfile's BASE_IMAGE in tests. */
export async function nodeBaseImage(): Promise<string> {
  const have = await imageId(NODE_BASE_IMAGE);
  if (have) return NODE_BASE_IMAGE;
  await minbaseImage();
  const dir = await mkdtemp(join(tmpdir(), 'reprod-node-base-'));
  try {
    const node = await realpath(new URL('../../node_modules/.bin/node', import.meta.url).pathname);
    await copyFile(node, join(dir, 'node'));
    await writeFile(join(dir, 'Dockerfile'), `FROM ${MINBASE_IMAGE}\nCOPY node /usr/local/bin/node\nRUN chmod 0755 /usr/local/bin/node && node --version\n`);
    await run('docker', ['build', '-q', '-t', NODE_BASE_IMAGE, dir], { maxBuffer: 16 * 1024 * 1024 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return NODE_BASE_IMAGE;
}
