/**
 * Property-based tests (fast-check) over everything that parses a stranger's
 * bytes: intake (bundles, DSSE, JSONL, statements), the daemon's door (subject
 * extraction), the HTTP feed's index parser, the source URL policy, the output
 * tar reader and the diff engine's archive readers. The property each time: the
 * input is accepted or refused with a coded ReprodError (never INTERNAL, never
 * an uncoded throw), within a time bound (no hang).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { intakeAttestation, loadTrustMaterial, parseAttestation, type TrustMaterial } from '../../src/attest/index.ts';
import { extractTar } from '../../src/build/output-tar.ts';
import { diffFiles } from '../../src/compare/index.ts';
import { subjectsOf } from '../../src/daemon/subjects.ts';
import { parseIndex } from '../../src/daemon/feeds/http.ts';
import { isReprodError } from '../../src/errors.ts';
import { checkSourceUrl, isInternalHost } from '../../src/inputs/source-policy.ts';
import { generateKeyFiles } from '../../src/publish/index.ts';
import { arBuffer, tarBuffer, zipBuffer } from '../support/archives.ts';
import { sha256, signedContainerAttestation } from './harness.ts';

let root: string;
let open: TrustMaterial;
let keyed: TrustMaterial;
let valid: Buffer;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'reprod-hostile-fuzz-'));
  open = await loadTrustMaterial({ allowUnverified: true }, root);
  const key = await generateKeyFiles(join(root, 'keys'));
  keyed = await loadTrustMaterial({ keys: [{ id: 'k', path: key.publicPath }] }, root);
  valid = await signedContainerAttestation(key.privatePath, {
    repo: 'https://git.example.org/p.git',
    commit: 'a'.repeat(40),
    image: `sha256:${'b'.repeat(64)}`,
    command: ['make'],
    outputs: { out: 'out' },
    digests: { out: sha256('out') },
  });
});
after(() => rm(root, { recursive: true, force: true }));

const HANG_MS = 20_000;

/** Runs `fn`; it may return or throw a coded, non-INTERNAL ReprodError, and must end within HANG_MS. */
async function codedOrOk(what: string, fn: () => unknown): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${HANG_MS} ms (hang)`)), HANG_MS)));
  try {
    await Promise.race([Promise.resolve().then(fn), hang]);
  } catch (e) {
    assert.ok(isReprodError(e) && e.code !== 'INTERNAL', `${what}: uncoded ${(e as Error)?.stack ?? String(e)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Byte-level mutations of a valid input: flips, cuts, splices, repeats. */
function mutated(base: Buffer): fc.Arbitrary<Buffer> {
  return fc.oneof(
    fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }).map((flips) => {
      const b = Buffer.from(base);
      for (const [i, v] of flips) b[i] = v;
      return b;
    }),
    fc.nat(base.length).map((n) => base.subarray(0, n)),
    fc.tuple(fc.nat(base.length), fc.uint8Array({ maxLength: 64 })).map(([i, junk]) => Buffer.concat([base.subarray(0, i), Buffer.from(junk), base.subarray(i)])),
    fc.integer({ min: 2, max: 4 }).map((k) => Buffer.concat(Array(k).fill(base))),
  );
}

/** JSON-level mutations of the valid bundle: any field replaced by any JSON value. */
function jsonMutated(base: Buffer): fc.Arbitrary<Buffer> {
  const doc = JSON.parse(base.toString()) as Record<string, unknown>;
  const paths: string[][] = [];
  const walk = (v: unknown, p: string[]) => {
    paths.push(p);
    if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) walk(c, [...p, k]);
  };
  walk(doc, []);
  return fc.tuple(fc.constantFrom(...paths.filter((p) => p.length > 0)), fc.jsonValue()).map(([path, value]) => {
    const copy = structuredClone(doc) as Record<string, unknown>;
    let o = copy as Record<string, unknown>;
    for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
    o[path[path.length - 1]!] = value;
    return Buffer.from(JSON.stringify(copy));
  });
}

test('intake: random bytes, random JSON, random statements, mutated signed bundles → coded errors only', async () => {
  const statementish = fc.record({
    _type: fc.oneof(fc.constant('https://in-toto.io/Statement/v1'), fc.string()),
    subject: fc.anything(),
    predicateType: fc.oneof(fc.constant('https://slsa.dev/provenance/v1'), fc.constant('https://slsa.dev/provenance/v0.2'), fc.string()),
    predicate: fc.anything(),
  });
  const dsseOf = (s: unknown) => Buffer.from(JSON.stringify({ payloadType: 'application/vnd.in-toto+json', payload: Buffer.from(JSON.stringify(s)).toString('base64'), signatures: [{ sig: 'AA==' }] }));
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fc.uint8Array({ maxLength: 512 }), fc.json().map((j) => Buffer.from(j)), statementish.map(dsseOf), mutated(valid), jsonMutated(valid)),
      fc.boolean(),
      async (bytes, useKey) => codedOrOk('intake', () => intakeAttestation(bytes, useKey ? keyed : open)),
    ),
    { numRuns: 500 },
  );
});

test('the daemon door (parse + subjects) and the HTTP feed index parser → coded errors only', async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 512 }), fc.json().map((j) => Buffer.from(j)), mutated(valid), jsonMutated(valid)), async (bytes) => {
      await codedOrOk('parseAttestation', () => parseAttestation(bytes));
      await codedOrOk('subjectsOf', () => subjectsOf(bytes));
      await codedOrOk('parseIndex', () => parseIndex(bytes.toString('utf8')));
    }),
    { numRuns: 500 },
  );
});

test('source URL policy: any string is refused (SOURCE_NOT_ALLOWED) or an https/file URL to a public host', () => {
  const urlish = fc.oneof(
    fc.string(),
    fc.webUrl({ withQueryParameters: true, withFragments: true }),
    fc.tuple(fc.constantFrom('https://', 'http://', 'file://', 'ssh://', 'git://', 'ext::', 'https://[', 'HTTPS://', ''), fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6(), fc.string())).map(([a, b]) => a + b),
  );
  fc.assert(
    fc.property(urlish, fc.boolean(), (url, allowFile) => {
      try {
        const u = checkSourceUrl(url, { sourceHosts: [], allowFileSources: allowFile });
        assert.ok(u.protocol === 'https:' || (allowFile && u.protocol === 'file:'), url);
        if (u.protocol === 'https:') assert.equal(isInternalHost(u.hostname), false, url);
        assert.ok(!url.includes('::'), url);
      } catch (e) {
        assert.ok(isReprodError(e, 'SOURCE_NOT_ALLOWED'), `${url}: ${String(e)}`);
      }
    }),
    { numRuns: 1000 },
  );
});

test('output tar reader: mutated and random tar streams → extracted, or a coded error; nothing outside its folder', async () => {
  const base = await tarBuffer([
    { name: 'out.bin', body: 'payload bytes\n' },
    { name: 'dir/', type: 'directory' },
    { name: 'dir/inner.txt', body: 'inner\n' },
    { name: 'link', type: 'symlink', linkname: 'dir/inner.txt' },
  ]);
  let i = 0;
  await fc.assert(
    fc.asyncProperty(fc.oneof(mutated(base), fc.uint8Array({ maxLength: 4096 }).map((u) => Buffer.from(u))), fc.boolean(), async (bytes, single) => {
      const into = join(root, 'tar', String(i++));
      await codedOrOk('extractTar', () => extractTar(Readable.from([bytes]), into, { maxBytes: 1024 * 1024, single }));
    }),
    { numRuns: 300 },
  );
  // Every extraction stayed inside its own folder.
  assert.deepEqual((await readdir(root)).sort(), ['keys', 'tar']);
});

test('diff engine archive readers: mutated tar, tar.gz, zip and ar pairs → a report or a coded error', async () => {
  const tar = await tarBuffer([{ name: 'a.txt', body: 'one\n' }, { name: 'b/', type: 'directory' }, { name: 'b/c.txt', body: 'two\n' }]);
  const bases = [tar, gzipSync(tar), zipBuffer([{ name: 'a.txt', body: 'one\n' }, { name: 'b/c.txt', body: 'two\n' }]), arBuffer([{ name: 'debian-binary', body: Buffer.from('2.0\n') }, { name: 'data.tar.gz', body: gzipSync(tar) }])];
  const names = ['x.tar', 'x.tar.gz', 'x.zip', 'x.deb'];
  let i = 0;
  await fc.assert(
    fc.asyncProperty(fc.nat(bases.length - 1).chain((k) => fc.tuple(fc.constant(k), mutated(bases[k]!), mutated(bases[k]!))), async ([k, a, b]) => {
      const dir = join(root, 'diff', String(i++));
      await (await import('node:fs/promises')).mkdir(dir, { recursive: true });
      await writeFile(join(dir, `a-${names[k]}`), a);
      await writeFile(join(dir, `b-${names[k]}`), b);
      await codedOrOk('diffFiles', () => diffFiles(join(dir, `a-${names[k]}`), join(dir, `b-${names[k]}`)));
      await rm(dir, { recursive: true, force: true });
    }),
    { numRuns: 200 },
  );
});
