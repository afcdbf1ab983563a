import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isReprodError } from '../../src/errors.ts';
import { AuditLog, checkAuditText, GENESIS, verifyAuditFile } from '../../src/publish/audit.ts';
import { scratch } from '../support/publish.ts';

let dir: string;
let cleanup: () => Promise<void>;
before(async () => ({ dir, cleanup } = await scratch('reprod-audit-')));
after(() => cleanup());

const CLI = new URL('../../src/cli/main.ts', import.meta.url).pathname;
function auditVerify(file: string): { status: number | null; stdout: string } {
  const r = spawnSync(process.execPath, [CLI, 'audit', 'verify', file], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout };
}

/** A log of `n` verdict events; returns its path and lines. */
async function makeLog(name: string, n: number): Promise<{ path: string; lines: string[] }> {
  const path = join(dir, name);
  const log = await AuditLog.open(path);
  for (let i = 1; i <= n; i++) {
    await log.append({ type: 'job-verdict', jobId: `job-${i}`, subject: String(i).repeat(64).slice(0, 64), outcome: 'reproduced', attestations: ['d'.repeat(64)] });
  }
  await log.close();
  const lines = (await readFile(path, 'utf8')).split('\n').filter(Boolean);
  return { path, lines };
}

test('appends chain entries: seq, prev = previous hash, and the file verifies', async () => {
  const { path, lines } = await makeLog('ok.jsonl', 5);
  const entries = lines.map((l) => JSON.parse(l));
  assert.equal(entries.length, 5);
  assert.equal(entries[0].prev, GENESIS);
  for (let i = 1; i < 5; i++) {
    assert.equal(entries[i].seq, i + 1);
    assert.equal(entries[i].prev, entries[i - 1].hash);
  }
  assert.equal(entries[2].jobId, 'job-3');
  assert.deepEqual(await verifyAuditFile(path), { status: 'ok', entries: 5, head: { seq: 5, hash: entries[4].hash } });
  // Reopening continues the chain.
  const log = await AuditLog.open(path);
  const e6 = await log.append({ type: 'consumer-verify', subject: 'a'.repeat(64), outcome: 'trusted' });
  await log.close();
  assert.equal(e6.seq, 6);
  assert.equal(e6.prev, entries[4].hash);
  const r = auditVerify(path);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^ok: 6 entries/);
});

test('concurrent appends are serialised into one unbroken chain', async () => {
  const path = join(dir, 'concurrent.jsonl');
  const log = await AuditLog.open(path);
  await Promise.all(Array.from({ length: 20 }, (_, i) => log.append({ type: 'job-verdict', jobId: `j${i}` })));
  await log.close();
  assert.deepEqual((await verifyAuditFile(path)).status, 'ok');
});

test('editing a middle line is reported at that line', async () => {
  const { path, lines } = await makeLog('tamper.jsonl', 5);
  lines[2] = lines[2]!.replace('"reproduced"', '"not-reproduced"');
  await writeFile(path, `${lines.join('\n')}\n`);
  const check = await verifyAuditFile(path);
  assert.equal(check.status, 'broken');
  assert.equal((check as { line: number }).line, 3);
  const r = auditVerify(path);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /BROKEN at line 3/);
  await assert.rejects(AuditLog.open(path), (e) => isReprodError(e, 'AUDIT_LOG_BROKEN'));
});

test('a forged line with a recomputed own hash still breaks the next link', async () => {
  const { lines } = await makeLog('forge.jsonl', 4);
  const e = JSON.parse(lines[1]!);
  e.outcome = 'not-reproduced';
  delete e.hash;
  const { createHash } = await import('node:crypto');
  e.hash = createHash('sha256').update(JSON.stringify(e)).digest('hex');
  lines[1] = JSON.stringify(e);
  const check = checkAuditText(`${lines.join('\n')}\n`);
  assert.deepEqual([check.status, (check as { line: number }).line], ['broken', 3]);
});

test('deleting a line is reported at the line after the gap', async () => {
  const { path, lines } = await makeLog('delete.jsonl', 5);
  lines.splice(1, 1);
  await writeFile(path, `${lines.join('\n')}\n`);
  const check = await verifyAuditFile(path);
  assert.deepEqual([check.status, (check as { line: number }).line], ['broken', 2]);
  // Deleting the first line breaks at line 1.
  const first = checkAuditText(`${(await makeLog('delete1.jsonl', 3)).lines.slice(1).join('\n')}\n`);
  assert.deepEqual([first.status, (first as { line: number }).line], ['broken', 1]);
});

test('reordering two lines is reported at the first moved line', async () => {
  const { path, lines } = await makeLog('reorder.jsonl', 5);
  [lines[2], lines[3]] = [lines[3]!, lines[2]!];
  await writeFile(path, `${lines.join('\n')}\n`);
  const check = await verifyAuditFile(path);
  assert.deepEqual([check.status, (check as { line: number }).line], ['broken', 3]);
});

test('a torn last line (crash mid-append) is reported distinctly and dropped on reopen', async () => {
  const { path, lines } = await makeLog('torn.jsonl', 3);
  await appendFile(path, '{"seq":4,"time":"2026-');
  const check = await verifyAuditFile(path);
  assert.deepEqual(check, { status: 'torn', line: 4, entries: 3, head: { seq: 3, hash: JSON.parse(lines[2]!).hash } });
  const r = auditVerify(path);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /^TORN last line 4/);
  const log = await AuditLog.open(path);
  const next = await log.append({ type: 'job-verdict', jobId: 'after-crash' });
  await log.close();
  assert.equal(next.seq, 5); // seq 4 records the dropped tail
  const entries = (await readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(entries[3].type, 'torn-tail-dropped');
  assert.equal(entries[3].details.bytes, '{"seq":4,"time":"2026-'.length);
  assert.equal((await verifyAuditFile(path)).status, 'ok');
});

test('an unreadable log exits 2; an empty one is ok', async () => {
  assert.equal(auditVerify(join(dir, 'missing.jsonl')).status, 2);
  await writeFile(join(dir, 'empty.jsonl'), '');
  assert.equal(auditVerify(join(dir, 'empty.jsonl')).status, 0);
  assert.equal(checkAuditText('not json\n').status, 'broken');
});
