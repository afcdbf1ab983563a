/**
 * The adversarial suite's shared checks. Every hostile case asserts its coded
 * outcome and, where it goes through the daemon or `reprod rebuild`, that:
 * - nothing was written outside reprod's own folders: a canary folder (holding a
 *   "secret" and the paths attacks aim at) and the workspace around the data
 *   folder are snapshotted before and compared after;
 * - no verdict was signed for input that never verified, and no signed statement
 *   anywhere says PASSED for a hostile case (a verified claim whose build fails
 *   gets a signed FAILED/error VSA, by design: DESIGN.md section 7).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { containerStatement, type ContainerClaimInput } from '../../fixtures/statements.ts';
import { keySigner, signStatement } from '../../src/publish/index.ts';
import type { Statement } from '../../src/publish/statements.ts';

export const sha256 = (b: string | Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** path → kind:size:sha256 (or link target) of every entry under `dir`, skipping `exclude` (absolute paths). */
export async function treeSnapshot(dir: string, exclude: string[] = []): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (exclude.includes(p)) continue;
      const rel = relative(dir, p);
      const st = await lstat(p);
      if (e.isDirectory()) {
        out.set(rel, `dir:${(st.mode & 0o7777).toString(8)}`);
        await walk(p);
      } else if (e.isSymbolicLink()) out.set(rel, `link:${await readlink(p)}`);
      else if (e.isFile()) out.set(rel, `file:${(st.mode & 0o7777).toString(8)}:${st.size}:${sha256(await readFile(p))}`);
      else out.set(rel, 'other');
    }
  };
  await walk(dir);
  return out;
}

/** Host files a build or a hostile input must never change. */
const HOST_FILES = ['/etc/passwd', '/etc/hosts', '/etc/group'];

/**
 * A canary: a folder with a secret that hostile inputs point at (file:// URLs,
 * symlinks, `ext::` commands write `pwned` files here or in /tmp), plus host files.
 */
export class Canary {
  readonly dir: string;
  readonly marker = randomBytes(8).toString('hex');
  /** A value that must never show up inside a build container. */
  readonly secret = `reprod-canary-secret-${randomBytes(12).toString('hex')}`;
  #before: Map<string, string> | undefined;
  #host: string[] = [];

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Paths an attack would create; none may exist afterwards. */
  get pwnedPaths(): string[] {
    return [join(this.dir, 'pwned'), `/tmp/reprod-pwned-${this.marker}`];
  }

  async arm(): Promise<this> {
    await mkdir(this.dir, { recursive: true });
    await writeFile(join(this.dir, 'secret.txt'), `${this.secret}\n`, { mode: 0o600 });
    this.#before = await treeSnapshot(this.dir);
    this.#host = await Promise.all(HOST_FILES.map(async (f) => sha256(await readFile(f))));
    return this;
  }

  async assertUntouched(): Promise<void> {
    assert.ok(this.#before, 'canary not armed');
    assert.deepEqual(await treeSnapshot(this.dir), this.#before, 'the canary folder changed');
    assert.deepEqual(await Promise.all(HOST_FILES.map(async (f) => sha256(await readFile(f)))), this.#host, 'a host file changed');
    for (const p of this.pwnedPaths) assert.equal(existsSync(p), false, `${p} was written`);
  }
}

/** Everything under `root` except reprod's own folders must be as it was. */
export class Workspace {
  readonly root: string;
  readonly own: string[];
  #before: Map<string, string> | undefined;

  constructor(root: string, own: string[]) {
    this.root = root;
    this.own = own;
  }

  async snapshot(): Promise<void> {
    this.#before = await treeSnapshot(this.root, this.own);
  }

  async assertNothingWrittenOutside(): Promise<void> {
    assert.ok(this.#before, 'workspace not snapshotted');
    assert.deepEqual(await treeSnapshot(this.root, this.own), this.#before, `something was written outside ${this.own.map((o) => relative(this.root, o)).join(', ')}`);
  }
}

export interface SignedStatement {
  file: string;
  predicateType: string;
  subjects: string[];
  /** VSA verificationResult, when the statement is a VSA. */
  result?: string;
}

/** Every signed statement (`*.sigstore.json`) under `dir`, decoded. */
export async function signedStatements(dir: string): Promise<SignedStatement[]> {
  const snap = await treeSnapshot(dir);
  const out: SignedStatement[] = [];
  for (const rel of snap.keys()) {
    if (!rel.endsWith('.sigstore.json')) continue;
    const bundle = JSON.parse(await readFile(join(dir, rel), 'utf8')) as { dsseEnvelope: { payload: string } };
    const st = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as Statement & { predicate: { verificationResult?: string } };
    out.push({
      file: rel,
      predicateType: st.predicateType,
      subjects: st.subject.map((s) => s.digest.sha256 ?? ''),
      ...(st.predicate.verificationResult ? { result: st.predicate.verificationResult } : {}),
    });
  }
  return out;
}

/** No signed statement claims PASSED; `unsigned` subjects have no signed statement at all. */
export async function assertNoFalseVerdict(outDir: string, unsigned: string[] = []): Promise<SignedStatement[]> {
  const all = await signedStatements(outDir);
  for (const s of all) {
    if (s.result !== undefined) assert.equal(s.result, 'FAILED', `${s.file} is a ${s.result} verdict`);
    for (const sha of unsigned) assert.ok(!s.subjects.includes(sha), `${s.file} signs a verdict about ${sha}, whose attestation never verified`);
  }
  return all;
}

/** A container-buildType attestation signed by `keyPath` (Sigstore bundle v0.3 JSON). */
export async function signedContainerAttestation(keyPath: string, input: ContainerClaimInput, tamper?: (s: Statement) => void): Promise<Buffer> {
  const statement = containerStatement(input);
  const bundle = (await signStatement(statement, await keySigner(keyPath))) as unknown as { dsseEnvelope: { payload: string } };
  if (tamper) {
    const changed = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as Statement;
    tamper(changed);
    bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(changed)).toString('base64');
  }
  return Buffer.from(JSON.stringify(bundle));
}

/** A signed statement of any shape (for cases the fixture builder cannot express). */
export async function signedStatement(keyPath: string, statement: unknown): Promise<Buffer> {
  return Buffer.from(JSON.stringify(await signStatement(statement as Statement, await keySigner(keyPath))));
}
