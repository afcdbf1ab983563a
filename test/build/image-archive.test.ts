import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import tar from 'tar-stream';
import { imageArchive, sha256File, type ImageSpec } from '../../src/build/image-archive.ts';
import { loadRecipe, parseRecipe, recipeTag } from '../../src/build/recipe.ts';
import { mmdebstrapArgs } from '../../src/build/mmdebstrap.ts';
import { isReprodError } from '../../src/errors.ts';

async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function members(buf: Buffer): Promise<Map<string, Buffer>> {
  const ex = tar.extract();
  const out = new Map<string, Buffer>();
  const done = pipeline(Readable.from([buf]), ex as unknown as NodeJS.WritableStream);
  for await (const e of ex) out.set(e.header.name, await readAll(e as unknown as Readable));
  await done;
  return out;
}

describe('image archive writer', () => {
  let dir: string;
  let spec: ImageSpec;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reprod-archive-'));
    const rootfs = join(dir, 'rootfs.tar');
    const pack = tar.pack();
    pack.entry({ name: './etc/', type: 'directory', mtime: new Date(0) });
    pack.entry({ name: './etc/hostname', mtime: new Date(0) }, 'x\n');
    pack.finalize();
    await pipeline(pack as unknown as Readable, createWriteStream(rootfs));
    spec = { rootfsTar: rootfs, sourceDateEpoch: 1700000000, env: { PATH: '/usr/bin:/bin' }, labels: { b: '2', a: '1' }, repoTag: 'reprod/test:abc', createdBy: 'test' };
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('writes the same bytes twice from the same rootfs', async () => {
    const one = await imageArchive(spec);
    const a = await readAll(one.stream);
    await new Promise((r) => setTimeout(r, 1100)); // a different wall clock must not matter
    const two = await imageArchive(spec);
    const b = await readAll(two.stream);
    assert.equal(one.imageId, two.imageId);
    assert.ok(a.equals(b), 'archives differ');
  });

  it('is a docker-save archive whose config carries created = SOURCE_DATE_EPOCH and names the layer by digest', async () => {
    const { imageId, stream } = await imageArchive(spec);
    const files = await members(await readAll(stream));
    const manifest = JSON.parse(files.get('manifest.json')!.toString()) as Array<{ Config: string; RepoTags: string[]; Layers: string[] }>;
    assert.deepEqual(manifest[0]!.RepoTags, ['reprod/test:abc']);
    const config = files.get(manifest[0]!.Config)!;
    assert.equal(`sha256:${createHash('sha256').update(config).digest('hex')}`, imageId);
    const parsed = JSON.parse(config.toString()) as { created: string; rootfs: { diff_ids: string[] } };
    assert.equal(parsed.created, '2023-11-14T22:13:20Z');
    const layer = files.get(manifest[0]!.Layers[0]!)!;
    assert.equal(parsed.rootfs.diff_ids[0], `sha256:${createHash('sha256').update(layer).digest('hex')}`);
    assert.equal(parsed.rootfs.diff_ids[0], `sha256:${await sha256File(spec.rootfsTar)}`);
  });

  it('changes the image id when the epoch changes', async () => {
    const a = await imageArchive(spec);
    const b = await imageArchive({ ...spec, sourceDateEpoch: 1700000001 });
    a.stream.resume();
    b.stream.resume();
    assert.notEqual(a.imageId, b.imageId);
  });
});

describe('image recipes', () => {
  it('bookworm-build ships the packages the issue names, and its tag follows the recipe hash', async () => {
    const r = await loadRecipe('bookworm-build');
    for (const p of ['build-essential', 'git', 'ca-certificates', 'nodejs', 'npm', 'python3', 'golang-go']) assert.ok(r.packages.includes(p), p);
    assert.match(recipeTag(r), /^reprod\/bookworm-build:[0-9a-f]{16}$/);
    const args = mmdebstrapArgs(r, '/tmp/x.tar');
    assert.ok(!args.some((a) => /https?:\/\//.test(a)), 'no mirror named: the machine apt sources are used');
  });

  it('gives a different hash when the package list changes, the same for the same content', () => {
    const base = 'release: bookworm\nsourceDateEpoch: 1\npackages: [a, b]\n';
    assert.equal(parseRecipe('x', base).hash, parseRecipe('x', 'release: bookworm\npackages: [b, a]\nsourceDateEpoch: 1\n').hash);
    assert.notEqual(parseRecipe('x', base).hash, parseRecipe('x', base.replace('[a, b]', '[a, c]')).hash);
  });

  it('names the wrong key of a bad recipe', () => {
    assert.throws(() => parseRecipe('x', 'release: bookworm\nsourceDateEpoch: 1\npackage: [a]\n'), (e) => isReprodError(e, 'IMAGE_RECIPE_INVALID') && /package/.test(e.message));
    assert.throws(() => parseRecipe('x', 'release: bookworm\nsourceDateEpoch: soon\n'), (e) => isReprodError(e, 'IMAGE_RECIPE_INVALID') && /sourceDateEpoch/.test(e.message));
  });

  it('IMAGE_NOT_FOUND for a recipe that does not exist', async () => {
    await assert.rejects(loadRecipe('no-such-image'), (e) => isReprodError(e, 'IMAGE_NOT_FOUND'));
  });
});
