/**
 * A cross-process lock around building one image: test files run in parallel
 * processes and each may ask for the builder image; only one runs mmdebstrap, the
 * others wait and then reuse its image. A lock whose holder died is taken over.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const POLL_MS = 1000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function withImageLock<T>(key: string, fn: () => Promise<T>, onWait?: () => void): Promise<T> {
  const dir = join(tmpdir(), `reprod-image-${key.replace(/[^a-zA-Z0-9._-]/g, '_')}.lock`);
  let waited = false;
  for (;;) {
    try {
      await mkdir(dir);
      await writeFile(join(dir, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(await readFile(join(dir, 'pid'), 'utf8').catch(() => ''));
      // A lock with no pid yet is being created; one with a dead pid is stale.
      if (pid > 0 && !alive(pid)) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      if (!waited) onWait?.();
      waited = true;
      await sleep(POLL_MS);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
