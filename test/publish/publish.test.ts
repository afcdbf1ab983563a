import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as inputs from '../../fixtures/publish/inputs.ts';
import { isReprodError } from '../../src/errors.ts';
import { AuditLog, verifyAuditFile } from '../../src/publish/audit.ts';
import { publishSubject } from '../../src/publish/publish.ts';
import { createSigner } from '../../src/publish/signers/index.ts';
import { DirectorySink, VSA_FILE } from '../../src/publish/sinks/directory.ts';
import type { Sink } from '../../src/publish/sinks/types.ts';
import { parseDsseBundle, verifyStatementBundle } from '../../src/publish/verify-bundle.ts';
import { scratch } from '../support/publish.ts';

let dir: string;
let cleanup: () => Promise<void>;
before(async () => ({ dir, cleanup } = await scratch()));
after(() => cleanup());

const CLI = new URL('../../src/cli/main.ts', import.meta.url).pathname;

test('reprod keys generate prints the key id and writes a 0600 key usable by the signer', async () => {
  const r = spawnSync(process.execPath, [CLI, 'keys', 'generate', '--out', join(dir, 'keys')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const keyId = r.stdout.trim();
  const pub = await readFile(join(dir, 'keys', 'reprod.pub'), 'utf8');
  assert.equal(keyId, createHash('sha256').update(createPublicKey(pub).export({ type: 'spki', format: 'der' })).digest('hex'));
  assert.equal((await stat(join(dir, 'keys', 'reprod.key'))).mode & 0o777, 0o600);
  const again = spawnSync(process.execPath, [CLI, 'keys', 'generate', '--out', join(dir, 'keys')], { encoding: 'utf8' });
  assert.equal(again.status, 2);
  assert.match(again.stderr, /error\[USAGE\]/);
});

test('publishSubject signs both statements, writes the sink, and audits the event', async () => {
  const signer = await createSigner({ key: 'keys/reprod.key', verifierId: 'v' }, dir);
  const out = join(dir, 'out');
  const auditPath = join(dir, 'audit.jsonl');
  const audit = await AuditLog.open(auditPath);
  const p = await publishSubject(
    { vsa: inputs.vsaReproduced, provenance: inputs.provenanceReproduced, verdict: { outcome: 'reproduced' } },
    { signer, sinks: [new DirectorySink(out)], audit },
  );
  await audit.close();
  const onDisk = JSON.parse(await readFile(join(out, inputs.vsaReproduced.subject.sha256, VSA_FILE), 'utf8'));
  assert.deepEqual(onDisk, p.vsa);
  const key = { $case: 'key' as const, keyId: signer.keyId!, publicKey: createPublicKey(await readFile(join(dir, 'keys', 'reprod.pub'), 'utf8')) };
  assert.equal((verifyStatementBundle(parseDsseBundle(p.vsa), key) as any).predicate.verificationResult, 'PASSED');
  assert.equal((verifyStatementBundle(parseDsseBundle(p.provenance), key) as any).predicate.runDetails.metadata.invocationId, 'job-0001');
  const check = await verifyAuditFile(auditPath);
  assert.equal(check.status, 'ok');
  const entry = JSON.parse((await readFile(auditPath, 'utf8')).trim());
  assert.equal(entry.type, 'job-verdict');
  assert.equal(entry.outcome, 'reproduced');
  assert.equal(entry.attestations[0], inputs.vsaReproduced.inputAttestation.sha256);
  assert.equal(entry.attestations[1], createHash('sha256').update(JSON.stringify(p.vsa)).digest('hex'));
});

test('a failing sink fails the publication and nothing is audited', async () => {
  const signer = await createSigner({ key: 'keys/reprod.key', verifierId: 'v' }, dir);
  const auditPath = join(dir, 'audit-fail.jsonl');
  const audit = await AuditLog.open(auditPath);
  const broken: Sink = { name: 'broken', publish: async () => { throw new Error('disk on fire'); } };
  await assert.rejects(publishSubject({ vsa: inputs.vsaError, provenance: inputs.provenanceError, verdict: {} }, { signer, sinks: [broken], audit }), /disk on fire/);
  await audit.close();
  assert.equal((await verifyAuditFile(auditPath)).entries, 0);
  const badKey = createSigner({ key: 'keys/missing.key', verifierId: 'v' }, dir);
  await assert.rejects(badKey, (e) => isReprodError(e, 'KEY_INVALID'));
});
