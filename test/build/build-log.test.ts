import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { BuildLog } from '../../src/build/build-log.ts';

it('build log: capped with a note, hashed as written, tail without markers, final once closed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-log-'));
  try {
    const log = new BuildLog(join(dir, 'build.log'), 100);
    log.phase('build');
    log.write(Buffer.from('line one\n__reprod_failed_step__ 0 3\n'));
    log.write(Buffer.from('x'.repeat(200)));
    assert.equal(log.truncated, true);
    assert.ok(log.rawTail().includes('__reprod_failed_step__ 0 3'));
    assert.ok(!log.tail().includes('__reprod_'));
    const sha = await log.close();
    log.write(Buffer.from('late output'));
    const bytes = await readFile(join(dir, 'build.log'));
    assert.equal(createHash('sha256').update(bytes).digest('hex'), sha);
    const text = bytes.toString();
    assert.ok(text.startsWith('=== reprod: build\nline one\n'));
    assert.match(text, /log truncated at 100 bytes/);
    assert.ok(!text.includes('late output'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
