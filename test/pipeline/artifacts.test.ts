import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isReprodError } from '../../src/errors.ts';
import { artifactFileName, expectedDigests, findUpstreamArtifact } from '../../src/pipeline/artifacts.ts';
import { compareSubject } from '../../src/pipeline/compare-stage.ts';
import { StageClock, type ProgressEvent } from '../../src/pipeline/progress.ts';
import { scratch } from '../support/publish.ts';

let tmp: { dir: string; cleanup: () => Promise<void> };
const body = 'upstream bytes\n';
const sha256 = createHash('sha256').update(body).digest('hex');
const sha512 = createHash('sha512').update(body).digest('hex');

before(async () => {
  tmp = await scratch('reprod-artifacts-');
  await writeFile(join(tmp.dir, 'hello'), body);
  await writeFile(join(tmp.dir, 'other'), 'rebuilt bytes\n');
});
after(() => tmp.cleanup());

test('subjects compare on every known digest they carry', () => {
  assert.deepEqual(expectedDigests({ name: 'x', sha256: 'AB'.repeat(32), digest: { sha512: 'cd', sha1: 'ef' } }), { sha512: 'cd', sha256: 'ab'.repeat(32) });
  assert.equal(artifactFileName({ name: 'dist/hello.tar.gz', sha256: '' }), 'hello.tar.gz');
  assert.equal(artifactFileName({ name: '../../etc/passwd', sha256: '' }), 'passwd');
  assert.equal(artifactFileName({ name: 'verdict.json', sha256: '' }), 'artifact-verdict.json');
});

test('an upstream artifact beside the attestation is used only when it has the claimed digest', async () => {
  assert.equal(await findUpstreamArtifact({ name: 'hello', sha256 }, tmp.dir), join(tmp.dir, 'hello'));
  assert.equal(await findUpstreamArtifact({ name: 'absent', sha256 }, tmp.dir), undefined);
  assert.equal(await findUpstreamArtifact({ name: 'hello', sha256 }, undefined), undefined);
  await assert.rejects(findUpstreamArtifact({ name: 'hello', sha256: 'e'.repeat(64) }, tmp.dir), (e) => isReprodError(e, 'SUBJECT_MISMATCH'));
  await assert.rejects(findUpstreamArtifact({ name: 'pkg', sha256: '', digest: { sha512: '0'.repeat(128) } }, tmp.dir, 'dir/hello'), (e) => isReprodError(e, 'SUBJECT_MISMATCH'));
});

test('strict compare: equal bytes reproduce (sha512-only subjects too); different bytes get a report', async () => {
  const built = { name: 'hello', path: join(tmp.dir, 'hello'), sha256, size: body.length };
  assert.equal((await compareSubject({ name: 'hello', sha256 }, built, undefined)).outcome, 'reproduced');
  const npmLike = await compareSubject({ name: 'pkg', sha256: '', digest: { sha512 } }, built, undefined);
  assert.equal(npmLike.outcome, 'reproduced');
  assert.equal(npmLike.rebuiltDigests.sha256, sha256);
  const other = { name: 'hello', path: join(tmp.dir, 'other'), sha256: '', size: 14 };
  const c = await compareSubject({ name: 'hello', sha256 }, other, undefined);
  assert.equal(c.outcome, 'not-reproduced');
  assert.match(c.report!.text, new RegExp(sha256));
  await assert.rejects(compareSubject({ name: 'hello', sha256 }, undefined, undefined), (e) => isReprodError(e, 'OUTPUT_MISSING'));
});

test('stages report start, done and failed with their elapsed time', async () => {
  const events: ProgressEvent[] = [];
  const clock = new StageClock((e) => events.push(e));
  assert.equal(await clock.run('verify', async () => 42), 42);
  await assert.rejects(clock.run('build', async () => {
    throw new Error('boom');
  }));
  assert.deepEqual(events.map((e) => `${e.stage}:${e.state}`), ['verify:start', 'verify:done', 'build:start', 'build:failed']);
  assert.equal(typeof clock.timings.verify, 'number');
});

test('a diff the engine cannot make still ends as not-reproduced, with a digest report', async () => {
  // A "gzip" upstream whose body is garbage: the engine refuses it, the verdict stands.
  const bad = join(tmp.dir, 'bad.gz');
  await writeFile(bad, Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), Buffer.from('not deflate data at all')]));
  const other = { name: 'hello', path: join(tmp.dir, 'other'), sha256: '', size: 14 };
  const c = await compareSubject({ name: 'hello', sha256 }, other, bad);
  assert.equal(c.outcome, 'not-reproduced');
  assert.ok(c.report!.json.length > 0);
});
