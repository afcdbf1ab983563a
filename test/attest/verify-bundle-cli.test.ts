import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { claimFromStatement } from '../../src/attest/index.ts';
import { signStatement } from '../../src/publish/sign.ts';
import { keySigner } from '../../src/publish/signers/index.ts';
import type { Statement } from '../../src/publish/statements.ts';
import { makeKey, scratch } from '../support/publish.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CONFORMANCE = resolve(ROOT, 'fixtures/upstream/sigstore-conformance');

function cli(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [join(ROOT, 'src/cli/main.ts'), 'verify-bundle', ...args], (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

test('a bundle reprod signed verifies with verify-bundle --key; one flipped byte makes it fail', async () => {
  const { dir, cleanup } = await scratch('reprod-vb-');
  try {
    const key = await makeKey(dir, 'k');
    const artifact = Buffer.from('hello\n');
    const sha256 = createHash('sha256').update(artifact).digest('hex');
    const statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'hello.txt', digest: { sha256 } }],
      predicateType: 'https://slsa.dev/verification_summary/v1',
      predicate: { verifier: { id: 'https://reprod.dev/verifier/test' }, verificationResult: 'PASSED', verifiedLevels: ['SLSA_BUILD_LEVEL_0'] },
    };
    const bundle = await signStatement(statement as unknown as Statement, await keySigner(key.privatePath));
    const good = join(dir, 'good.sigstore.json');
    await writeFile(good, JSON.stringify(bundle));
    await writeFile(join(dir, 'hello.txt'), artifact);
    const ok = await cli([good, '--key', key.publicPath, '--artifact', join(dir, 'hello.txt')]);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /OK: verified/);

    // Flip one byte of the signed payload: the signature no longer covers it.
    const b = JSON.parse(JSON.stringify(bundle)) as { dsseEnvelope: { payload: string } };
    const payload = Buffer.from(b.dsseEnvelope.payload, 'base64');
    payload[10] ^= 0x01;
    b.dsseEnvelope.payload = payload.toString('base64');
    const bad = join(dir, 'bad.sigstore.json');
    await writeFile(bad, JSON.stringify(b));
    const no = await cli([bad, '--key', key.publicPath]);
    assert.equal(no.code, 1, no.out);
    assert.match(no.out, /FAILED \[(UNTRUSTED_SIGNER|SIGNATURE_INVALID)\]/);

    // Another artifact is not a subject of the statement.
    await writeFile(join(dir, 'other.txt'), 'other\n');
    const wrong = await cli([good, '--key', key.publicPath, '--artifact', join(dir, 'other.txt')]);
    assert.equal(wrong.code, 1, wrong.out);
    assert.match(wrong.out, /SUBJECT_MISMATCH/);

    // Bad usage is 2.
    const usage = await cli([good]);
    assert.equal(usage.code, 2, usage.out);
    assert.match(usage.out, /error\[USAGE\]/);
  } finally {
    await cleanup();
  }
});

test("the conformance suite's statement.json decodes: its subject is a.txt", () => {
  const claim = claimFromStatement(JSON.parse(readFileSync(join(CONFORMANCE, 'statement.json'), 'utf8')));
  const sha = createHash('sha256').update(readFileSync(join(CONFORMANCE, 'a.txt'))).digest('hex');
  assert.equal(claim.subjects[0]!.sha256, sha);
  assert.equal(claim.buildType, 'https://actions.github.io/buildtypes/workflow/v1');
  assert.equal(claim.builderId, 'https://github.com/loosebazooka/aa-test/.github/workflows/provenance.yaml@refs/heads/main');
  assert.deepEqual(claim.source, { uri: 'https://github.com/loosebazooka/aa-test', commit: 'a9cd7bf0bbfd5732800b8196ce893ae9915b1e87', ref: 'refs/heads/main' });
});
