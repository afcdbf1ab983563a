import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import * as inputs from '../../fixtures/publish/inputs.ts';
import { isReprodError } from '../../src/errors.ts';
import { signStatement } from '../../src/publish/sign.ts';
import { createSigner } from '../../src/publish/signers/index.ts';
import { vsaStatement } from '../../src/publish/statements.ts';
import { parseDsseBundle, parseTrustedRoot, verifyStatementBundle } from '../../src/publish/verify-bundle.ts';
import { scratch } from '../support/publish.ts';
import { fakeOidcToken, startSigstoreMock, type SigstoreMock } from '../support/sigstore-mock.ts';

const ISSUER = 'https://issuer.rebuilder.test';
const IDENTITY = 'https://rebuilder.test/identity/reprod';

let mock: SigstoreMock;
let dir: string;
let cleanup: () => Promise<void>;
before(async () => {
  mock = await startSigstoreMock();
  ({ dir, cleanup } = await scratch());
  await writeFile(join(dir, 'token'), fakeOidcToken({ iss: ISSUER, sub: IDENTITY }));
});
after(async () => {
  await mock.close();
  await cleanup();
});

test('keyless: Fulcio certificate + Rekor intoto entry + TSA, verified offline with the trusted root', async () => {
  const signer = await createSigner(
    { verifierId: 'x', keyless: { fulcioUrl: mock.fulcioUrl, rekorUrl: mock.rekorUrl, tsaUrl: mock.tsaUrl, tokenFile: 'token' } },
    dir,
  );
  const statement = vsaStatement(inputs.vsaReproduced);
  const json = await signStatement(statement, signer);
  assert.deepEqual(mock.hits, { fulcio: 1, rekor: 1, tsa: 1 });
  const b = json as any;
  assert.equal(b.verificationMaterial.tlogEntries[0].kindVersion.kind, 'intoto');
  assert.ok(b.verificationMaterial.certificate, 'bundle carries the Fulcio certificate');
  assert.equal(b.verificationMaterial.timestampVerificationData.rfc3161Timestamps.length, 1);

  // Straight @sigstore/verify with identity and issuer from the token.
  const trust = toTrustMaterial(TrustedRoot.fromJSON(mock.trustedRoot));
  const who = new Verifier(trust).verify(toSignedEntity(bundleFromJSON(json)), { subjectAlternativeName: IDENTITY, extensions: { issuer: ISSUER } });
  assert.equal(who.identity?.subjectAlternativeName, IDENTITY);

  const root = parseTrustedRoot(mock.trustedRoot);
  assert.deepEqual(verifyStatementBundle(parseDsseBundle(json), { $case: 'identity', identity: IDENTITY, issuer: ISSUER, trustedRoot: root }), statement);
  assert.throws(
    () => verifyStatementBundle(parseDsseBundle(json), { $case: 'identity', identity: 'https://someone.else/', issuer: ISSUER, trustedRoot: root }),
    (e) => isReprodError(e, 'UNTRUSTED_SIGNER'),
  );
  assert.throws(
    () => verifyStatementBundle(parseDsseBundle(json), { $case: 'identity', identity: IDENTITY, issuer: 'https://other.issuer/', trustedRoot: root }),
    (e) => isReprodError(e, 'UNTRUSTED_SIGNER'),
  );
  const tampered = structuredClone(json) as any;
  const sig = Buffer.from(tampered.dsseEnvelope.signatures[0].sig, 'base64');
  sig[10]! ^= 1;
  tampered.dsseEnvelope.signatures[0].sig = sig.toString('base64');
  assert.throws(() => verifyStatementBundle(parseDsseBundle(tampered), { $case: 'identity', identity: IDENTITY, issuer: ISSUER, trustedRoot: root }), (e) => isReprodError(e, 'SIGNATURE_INVALID'));
});

test('keyless: token from an env var; a missing token is SIGNING_FAILED', async () => {
  const keyless = { fulcioUrl: mock.fulcioUrl, rekorUrl: mock.rekorUrl, tokenEnv: 'REPROD_TEST_TOKEN' };
  const ok = await createSigner({ verifierId: 'x', keyless }, dir, { REPROD_TEST_TOKEN: fakeOidcToken({ iss: ISSUER, sub: IDENTITY }) });
  const json = await signStatement(vsaStatement(inputs.vsaReproduced), ok);
  assert.equal((json as any).verificationMaterial.timestampVerificationData?.rfc3161Timestamps?.length ?? 0, 0);
  const root = parseTrustedRoot(mock.trustedRoot);
  verifyStatementBundle(parseDsseBundle(json), { $case: 'identity', identity: IDENTITY, issuer: ISSUER, trustedRoot: root });
  const missing = await createSigner({ verifierId: 'x', keyless }, dir, {});
  await assert.rejects(signStatement(vsaStatement(inputs.vsaReproduced), missing), (e) => isReprodError(e, 'SIGNING_FAILED'));
});

test('keyless: an unreachable Fulcio is SIGNING_FAILED, retryable', async () => {
  const keyless = { fulcioUrl: 'http://127.0.0.1:9', rekorUrl: mock.rekorUrl, tokenFile: 'token' };
  const signer = await createSigner({ verifierId: 'x', keyless }, dir);
  await assert.rejects(signStatement(vsaStatement(inputs.vsaReproduced), signer), (e) => isReprodError(e, 'SIGNING_FAILED') && e.retryable);
});
