import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ReprodError } from '../../errors.ts';
import type { Publication, Sink } from './types.ts';

/** File names inside `<out>/<subject sha256>/`. */
export const VSA_FILE = 'vsa.sigstore.json';
export const PROVENANCE_FILE = 'rebuild.sigstore.json';
export const VERDICT_FILE = 'verdict.json';

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Extra file names: one plain name, no path separators, no dot files. */
const SAFE_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Writes a file so that readers see either the old or the new content, never a
 * part: temp file in the same folder, fsync, rename over, fsync the folder.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const dir = join(path, '..');
  const tmp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dir);
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * `<out>/<subject sha256>/{vsa.sigstore.json, rebuild.sigstore.json, verdict.json, …}`.
 * Each file is replaced atomically; verdict.json is written last so its
 * presence means the signed attestations beside it are complete.
 */
export class DirectorySink implements Sink {
  readonly name = 'directory';
  readonly #out: string;

  constructor(outDir: string) {
    this.#out = outDir;
  }

  /** The folder a subject's files go to. */
  pathFor(sha256: string): string {
    return join(this.#out, sha256);
  }

  async publish(p: Publication): Promise<void> {
    if (!SHA256_HEX.test(p.subject.sha256)) {
      throw new ReprodError('PUBLISH_FAILED', `subject digest is not a lower-case sha256: ${JSON.stringify(p.subject.sha256)}`, { jobId: p.jobId });
    }
    const extra = Object.entries(p.files ?? {});
    for (const [name] of extra) {
      if (!SAFE_FILE_NAME.test(name) || [VSA_FILE, PROVENANCE_FILE, VERDICT_FILE].includes(name)) {
        throw new ReprodError('PUBLISH_FAILED', `refusing extra file name ${JSON.stringify(name)}`, { jobId: p.jobId });
      }
    }
    const dir = this.pathFor(p.subject.sha256);
    try {
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(join(dir, VSA_FILE), json(p.vsa));
      await writeFileAtomic(join(dir, PROVENANCE_FILE), json(p.provenance));
      for (const [name, data] of extra) await writeFileAtomic(join(dir, name), data);
      await writeFileAtomic(join(dir, VERDICT_FILE), json(p.verdict));
    } catch (e) {
      throw new ReprodError('PUBLISH_FAILED', `cannot write ${dir}: ${(e as Error).message}`, { cause: e, jobId: p.jobId, retryable: true });
    }
  }
}
