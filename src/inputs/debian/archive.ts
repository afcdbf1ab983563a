/**
 * apt's chain of trust over HTTP, read-only: InRelease (gpgv against the
 * archive keyring) → Packages / Sources (size and SHA256 from the signed
 * Release) → the .deb and .dsc digests those indices list. Nothing is trusted
 * before its parent has vouched for it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ReprodError } from '../../errors.ts';
import { parseDeb822, verifyClearsigned, type Paragraph } from './deb822.ts';
import { decompress } from './decompress.ts';
import { binariesOf, sourcePackageOf, type BinaryPackage, type SourcePackage } from './packages.ts';
import { checkRelease, indexEntry, parseRelease, type IndexFile, type Release } from './release.ts';

export const MAX_RELEASE_BYTES = 16 * 1024 * 1024;
/** Compressed index files (bookworm main amd64 Packages.xz is about 9 MB). */
export const MAX_INDEX_BYTES = 256 * 1024 * 1024;
export const ARCHIVE_REQUEST_TIMEOUT_MS = 120_000;
/** A verified Release is fetched again after this long (a daemon must see new versions and a passing Valid-Until). */
export const RELEASE_MAX_AGE_MS = 5 * 60 * 1000;
/** Index texts kept in memory (each can be tens of MB). */
export const MAX_CACHED_INDICES = 4;
/** Index files kept in cacheDir (the newest by use). */
export const MAX_DISK_CACHED_INDICES = 24;

export interface ArchiveOptions {
  /** Mirror base URL, holding dists/ and pool/. */
  mirror: string;
  keyrings: string[];
  component?: string;
  /** Folder keeping compressed index files by sha256 across runs (their digest is checked on every read). */
  cacheDir?: string;
  /** How long a verified Release is reused (default RELEASE_MAX_AGE_MS; 0: fetch every time). */
  releaseMaxAgeMs?: number;
  /** The clock Date / Valid-Until are checked against (tests). */
  now?: () => Date;
  signal?: AbortSignal;
}

export interface VerifiedRelease extends Release {
  /** Fingerprints of the keys whose signatures verified. */
  signers: string[];
  /** sha256 of the InRelease bytes, for provenance. */
  inReleaseSha256: string;
}

export class Archive {
  readonly mirror: string;
  readonly component: string;
  readonly #o: ArchiveOptions;
  readonly #releases = new Map<string, { at: number; release: Promise<VerifiedRelease> }>();
  readonly #texts = new Map<string, Promise<Buffer>>();

  constructor(options: ArchiveOptions) {
    this.#o = options;
    this.mirror = options.mirror.replace(/\/+$/, '');
    this.component = options.component ?? 'main';
  }

  url(path: string): string {
    return `${this.mirror}/${path.replace(/^\/+/, '')}`;
  }

  /** The verified Release of a suite (fetched once per Archive object). */
  release(suite: string): Promise<VerifiedRelease> {
    const cached = this.#releases.get(suite);
    if (cached && Date.now() - cached.at < (this.#o.releaseMaxAgeMs ?? RELEASE_MAX_AGE_MS)) return cached.release;
    const release = this.#release(suite);
    const entry = { at: Date.now(), release };
    release.catch(() => {
      if (this.#releases.get(suite) === entry) this.#releases.delete(suite);
    });
    this.#releases.set(suite, entry);
    return release;
  }

  async #release(suite: string): Promise<VerifiedRelease> {
    const bytes = await this.#get(`dists/${suite}/InRelease`, MAX_RELEASE_BYTES);
    const text = bytes.toString('utf8');
    let signers: string[] = [];
    const body = await verifyClearsigned(text, this.#o.keyrings, {
      code: 'INDEX_SIGNATURE_INVALID',
      what: `InRelease of ${suite} at ${this.mirror}`,
      onVerified: (fprs) => (signers = fprs),
    });
    const release = parseRelease(body);
    checkRelease(release, suite, this.#o.now?.() ?? new Date());
    return { ...release, signers, inReleaseSha256: createHash('sha256').update(bytes).digest('hex') };
  }

  /**
   * An index file's decompressed bytes (`main/binary-amd64/Packages`), its digest
   * checked against the Release. Kept as bytes: a Packages index is tens of MB,
   * twice that as a JS string.
   */
  async indexText(suite: string, base: string): Promise<{ text: Buffer; entry: IndexFile }> {
    const release = await this.release(suite);
    const entry = indexEntry(release, base);
    const key = `${suite}/${entry.path}@${entry.sha256}`;
    let p = this.#texts.get(key);
    if (!p) {
      p = this.#indexText(suite, release, entry);
      p.catch(() => this.#texts.delete(key));
      this.#texts.set(key, p);
      for (const old of this.#texts.keys()) if (this.#texts.size > MAX_CACHED_INDICES) this.#texts.delete(old);
    }
    return { text: await p, entry };
  }

  async #indexText(suite: string, release: Release, entry: IndexFile): Promise<Buffer> {
    // The Release also names the uncompressed file (Debian lists it though it serves only .xz/.gz):
    // the decompressed text is checked against it and cached under it, so later runs skip xz.
    const plain = entry.path.endsWith('.xz') || entry.path.endsWith('.gz') ? release.files.get(entry.path.slice(0, -3)) : undefined;
    if (plain) {
      const text = await this.#cached(plain.sha256);
      if (text) return text;
    }
    const dir = entry.path.slice(0, entry.path.lastIndexOf('/') + 1);
    const byHash = `dists/${suite}/${dir}by-hash/SHA256/${entry.sha256}`;
    let bytes = await this.#cached(entry.sha256);
    // by-hash avoids reading a file the mirror replaced after we fetched InRelease
    if (!bytes && release.acquireByHash) bytes = await this.#get(byHash, MAX_INDEX_BYTES, true);
    bytes ??= await this.#get(`dists/${suite}/${entry.path}`, MAX_INDEX_BYTES);
    checkDigest(bytes, entry, suite);
    const text = await decompress(bytes, entry.path);
    if (plain) {
      checkDigest(text, plain, suite);
      await this.#keep(plain.sha256, text);
    } else {
      await this.#keep(entry.sha256, bytes);
    }
    return text;
  }

  async #cached(sha256: string): Promise<Buffer | undefined> {
    if (!this.#o.cacheDir) return undefined;
    const bytes = await readFile(join(this.#o.cacheDir, sha256)).catch(() => undefined);
    // a corrupt entry is simply fetched again
    return bytes && createHash('sha256').update(bytes).digest('hex') === sha256 ? bytes : undefined;
  }

  /** Best effort: a cache that cannot be written only costs a download next time. */
  async #keep(sha256: string, bytes: Buffer): Promise<void> {
    const dir = this.#o.cacheDir;
    if (!dir) return;
    try {
      const path = join(dir, sha256);
      if (await stat(path).then(() => true, () => false)) return;
      await mkdir(dir, { recursive: true });
      const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, path);
      const names = (await readdir(dir)).filter((n) => /^[0-9a-f]{64}$/.test(n));
      if (names.length > MAX_DISK_CACHED_INDICES) {
        const aged = await Promise.all(names.map(async (n) => ({ n, t: (await stat(join(dir, n))).mtimeMs })));
        aged.sort((a, b) => a.t - b.t);
        for (const { n } of aged.slice(0, aged.length - MAX_DISK_CACHED_INDICES)) await rm(join(dir, n), { force: true });
      }
    } catch {
      // ignored on purpose
    }
  }

  /** The verified Packages index of one architecture (filter with paragraphsMentioning before parsing: it is large). */
  async packagesText(suite: string, arch: string): Promise<Buffer> {
    return (await this.indexText(suite, `${this.component}/binary-${arch}/Packages`)).text;
  }

  /** The verified Sources index. */
  async sourcesText(suite: string): Promise<Buffer> {
    return (await this.indexText(suite, `${this.component}/source/Sources`)).text;
  }

  /** The .debs of a source version in one suite, digests from the signed Packages index. */
  async binaries(suite: string, source: string, version: string, architectures: string[]): Promise<BinaryPackage[]> {
    const out: BinaryPackage[] = [];
    // arch:all packages are listed in every binary-ARCH index too; read the first concrete one
    const archs = architectures.filter((a) => a !== 'all');
    for (const arch of archs.length > 0 ? archs : ['all']) {
      const text = await this.#packagesOrAll(suite, arch);
      out.push(...binariesOf(paragraphsMentioning(text, source), source, version, architectures));
    }
    const unique = new Map(out.map((b) => [b.filename, b]));
    return [...unique.values()];
  }

  async #packagesOrAll(suite: string, arch: string): Promise<Buffer> {
    if (arch !== 'all') return this.packagesText(suite, arch);
    const release = await this.release(suite);
    const concrete = release.architectures.find((a) => a !== 'all');
    return this.packagesText(suite, release.files.has(`${this.component}/binary-all/Packages`) || !concrete ? 'all' : concrete);
  }

  /** The source package's files (the .dsc first), pinned by the signed Sources index. */
  async sourcePackage(suite: string, name: string, version: string): Promise<SourcePackage | undefined> {
    return sourcePackageOf(paragraphsMentioning(await this.sourcesText(suite), name), name, version);
  }

  async #get(path: string, limit: number): Promise<Buffer>;
  async #get(path: string, limit: number, allow404: true): Promise<Buffer | undefined>;
  async #get(path: string, limit: number, allow404 = false): Promise<Buffer | undefined> {
    const url = this.url(path);
    const signal = this.#o.signal ? AbortSignal.any([this.#o.signal, AbortSignal.timeout(ARCHIVE_REQUEST_TIMEOUT_MS)]) : AbortSignal.timeout(ARCHIVE_REQUEST_TIMEOUT_MS);
    let res: Response;
    try {
      res = await fetch(url, { signal, redirect: 'follow' });
    } catch (e) {
      throw new ReprodError('FETCH_FAILED', `GET ${url}: ${(e as Error).message}`, { cause: e, retryable: true });
    }
    if (allow404 && res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new ReprodError(res.status === 404 ? 'PACKAGE_NOT_FOUND' : 'FETCH_FAILED', `GET ${url}: HTTP ${res.status}`, { retryable: res.status === 429 || res.status >= 500 });
    }
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const chunk of res.body ?? []) {
      n += (chunk as Uint8Array).byteLength;
      if (n > limit) throw new ReprodError('INDEX_INVALID', `${url} is over ${limit} bytes`);
      chunks.push(Buffer.from(chunk as Uint8Array));
    }
    return Buffer.concat(chunks);
  }
}

function checkDigest(bytes: Buffer, entry: IndexFile, suite: string): void {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length !== entry.size || sha256 !== entry.sha256) {
    throw new ReprodError('INDEX_HASH_MISMATCH', `${entry.path} of ${suite} is not the file the signed Release names`, {
      details: { path: entry.path, expected: { size: entry.size, sha256: entry.sha256 }, got: { size: bytes.length, sha256 } },
      retryable: true,
    });
  }
}

/**
 * Parses only the paragraphs that mention `word` (a package name): a full
 * Packages index is tens of MB and a lookup needs a handful of stanzas, found
 * by a byte search and cut at the blank lines around each hit.
 */
export function paragraphsMentioning(text: Buffer, word: string): Paragraph[] {
  const out: Paragraph[] = [];
  let i = text.indexOf(word);
  while (i >= 0) {
    const before = text.lastIndexOf('\n\n', i);
    const start = before < 0 ? 0 : before + 2;
    const after = text.indexOf('\n\n', i);
    const end = after < 0 ? text.length : after;
    out.push(...parseDeb822(text.subarray(start, end).toString('utf8')));
    i = text.indexOf(word, end);
  }
  return out;
}
