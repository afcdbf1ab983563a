import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyFiles } from '../../src/publish/keys.ts';

/** A scratch folder under the OS temp dir; `cleanup` removes it. */
export async function scratch(prefix = 'reprod-publish-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A fresh key pair in `<dir>/<name>/reprod.{key,pub}`. */
export async function makeKey(dir: string, name: string): Promise<{ keyId: string; privatePath: string; publicPath: string }> {
  return generateKeyFiles(join(dir, name));
}
