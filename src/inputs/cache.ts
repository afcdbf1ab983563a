import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ReprodError } from '../errors.ts';

/**
 * Content-addressed cache under `<dataDir>/cache`:
 *   sources/<sha256(repo url)>/<commit>/tree/   the checked-out files (no .git)
 *   sources/<sha256(repo url)>/<commit>/meta.json   written last: its presence means complete
 *   inputs/<sha256>                               fetched inputs, verified on the way in
 * Entries are built in a temp folder beside their final place and renamed in,
 * so concurrent jobs never see half an entry; a commit's tree never changes.
 */
export interface SourceMeta {
  repo: string;
  commit: string;
  commitTime: number;
  fetchedAt: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

export class InputCache {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, 'cache');
  }

  sourceEntry(repo: string, commit: string): string {
    return join(this.root, 'sources', sha256Hex(repo), commit);
  }

  /** The cached tree of `repo@commit`, or undefined when it was never fetched. */
  async getSource(repo: string, commit: string): Promise<{ tree: string; meta: SourceMeta } | undefined> {
    const entry = this.sourceEntry(repo, commit);
    let meta: SourceMeta;
    try {
      meta = JSON.parse(await readFile(join(entry, 'meta.json'), 'utf8')) as SourceMeta;
    } catch {
      return undefined;
    }
    if (meta.commit !== commit || meta.repo !== repo) return undefined;
    return { tree: join(entry, 'tree'), meta };
  }

  /** A fresh scratch folder on the cache's file system (for building an entry). */
  async scratch(): Promise<string> {
    const dir = join(this.root, 'tmp', `${Date.now()}-${randomBytes(6).toString('hex')}`);
    await mkdir(dir, { recursive: true });
    return dir;
  }

  /** Moves a finished tree into the cache. If another job won the race, its entry is kept. */
  async putSource(tree: string, meta: SourceMeta): Promise<{ tree: string; meta: SourceMeta }> {
    const entry = this.sourceEntry(meta.repo, meta.commit);
    const staging = `${tree}.entry`;
    await mkdir(staging, { recursive: true });
    await rename(tree, join(staging, 'tree'));
    await writeFile(join(staging, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    await mkdir(join(entry, '..'), { recursive: true });
    try {
      await rename(staging, entry);
    } catch (e) {
      await rm(staging, { recursive: true, force: true });
      const existing = await this.getSource(meta.repo, meta.commit);
      if (existing) return existing;
      throw new ReprodError('SOURCE_FETCH_FAILED', `cannot store ${meta.repo}@${meta.commit} in the cache`, { cause: e, retryable: true });
    }
    return { tree: join(entry, 'tree'), meta };
  }

  inputPath(sha256: string): string {
    if (!SHA256_HEX.test(sha256)) throw new ReprodError('INPUT_DIGEST_MISMATCH', `not a sha256: ${JSON.stringify(sha256)}`);
    return join(this.root, 'inputs', sha256);
  }

  /** The cached input with this digest, or undefined. */
  async getInput(sha256: string): Promise<string | undefined> {
    const path = this.inputPath(sha256);
    try {
      return (await stat(path)).isFile() ? path : undefined;
    } catch {
      return undefined;
    }
  }

  /** Copies a fetched file into the cache after checking it has the digest it was pinned to. */
  async putInput(file: string, sha256: string): Promise<string> {
    const actual = await sha256OfFile(file);
    if (actual !== sha256) {
      throw new ReprodError('INPUT_DIGEST_MISMATCH', `fetched input ${file} has sha256 ${actual}, pinned ${sha256}`, { details: { expected: sha256, actual } });
    }
    const path = this.inputPath(sha256);
    await mkdir(join(path, '..'), { recursive: true });
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await copyFile(file, tmp);
    await rename(tmp, path);
    return path;
  }
}
