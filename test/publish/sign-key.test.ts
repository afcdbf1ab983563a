import assert from 'node:assert/strict';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bundleFromJSON, type SerializedBundle } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { createPublicKey } from 'node:crypto';
import * as inputs from '../../fixtures/publish/inputs.ts';
import { isReprodError } from '../../src/errors.ts';
import { generateKeyFiles, keyIdOf, loadPrivateKey } from '../../src/publish/keys.ts';
import { signStatement } from '../../src/publish/sign.ts';
import { createSigner, keySigner } from '../../src/publish/signers/index.ts';
import { vsaStatement } from '../../src/publish/statements.ts';
import { parseDsseBundle, verifyStatementBundle } from '../../src/publish/verify-bundle.ts';
import { makeKey, scratch } from '../support/publish.ts';

let dir: string;
let cleanup: () => Promise<void>;
let key: Awaited<ReturnType<typeof makeKey>>;
before(async () => {
  ({ dir, cleanup } = await scratch());
  key = await makeKey(dir, 'a');
});
after(() => cleanup());

/** Verification straight with @sigstore/verify, not through reprod's wrapper. */
function sigstoreVerify(json: SerializedBundle, publicPem: string): void {
  const publicKey = createPublicKey(publicPem);
  const root = TrustedRoot.fromJSON({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] });
  const trust = toTrustMaterial(root, (hint) => {
    assert.equal(hint, keyIdOf(publicKey));
    return { publicKey, validFor: () => true };
  });
  new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundleFromJSON(json)));
}

test('keys generate: 0600 PKCS#8 private key, SPKI public key, key id = sha256 of DER SPKI', async () => {
  const st = await stat(key.privatePath);
  assert.equal(st.mode & 0o777, 0o600);
  const pub = await readFile(key.publicPath, 'utf8');
  assert.match(pub, /^-----BEGIN PUBLIC KEY-----/);
  assert.match(await readFile(key.privatePath, 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
  assert.equal(key.keyId, keyIdOf(createPublicKey(pub)));
  assert.match(key.keyId, /^[0-9a-f]{64}$/);
  await assert.rejects(generateKeyFiles(join(dir, 'a')), (e) => isReprodError(e, 'USAGE'));
});

test('a private key readable by group or others is refused', async () => {
  const k = await makeKey(dir, 'loose');
  await chmod(k.privatePath, 0o640);
  await assert.rejects(loadPrivateKey(k.privatePath), (e) => isReprodError(e, 'KEY_PERMISSIONS'));
  await chmod(k.privatePath, 0o604);
  await assert.rejects(loadPrivateKey(k.privatePath), (e) => isReprodError(e, 'KEY_PERMISSIONS'));
  await chmod(k.privatePath, 0o400);
  assert.equal((await loadPrivateKey(k.privatePath)).keyId, k.keyId);
});

test('a malformed or non-P-256 key is KEY_INVALID', async () => {
  const bad = join(dir, 'bad.key');
  await writeFile(bad, '-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n', { mode: 0o600 });
  await assert.rejects(loadPrivateKey(bad), (e) => isReprodError(e, 'KEY_INVALID'));
  const { generateKeyPairSync } = await import('node:crypto');
  const ed = join(dir, 'ed.key');
  await writeFile(ed, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  await assert.rejects(loadPrivateKey(ed), (e) => isReprodError(e, 'KEY_INVALID'));
  await assert.rejects(loadPrivateKey(join(dir, 'missing.key')), (e) => isReprodError(e, 'KEY_INVALID'));
});

test('a signed VSA is a v0.3 DSSE bundle with the key id hint and verifies with @sigstore/verify', async () => {
  const signer = await keySigner(key.privatePath);
  const statement = vsaStatement(inputs.vsaReproduced);
  const json = await signStatement(statement, signer);
  assert.equal(json.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
  assert.equal((json.verificationMaterial as any).publicKey.hint, key.keyId);
  assert.equal((json as any).dsseEnvelope.payloadType, 'application/vnd.in-toto+json');
  sigstoreVerify(json, await readFile(key.publicPath, 'utf8'));
  const back = verifyStatementBundle(parseDsseBundle(json), { $case: 'key', keyId: key.keyId, publicKey: createPublicKey(await readFile(key.publicPath, 'utf8')) });
  assert.deepEqual(back, statement);
});

test('flipping one byte of the signature or the payload makes verification fail', async () => {
  const signer = await keySigner(key.privatePath);
  const json = await signStatement(vsaStatement(inputs.vsaReproduced), signer);
  const pub = await readFile(key.publicPath, 'utf8');
  for (const field of ['sig', 'payload'] as const) {
    const copy = structuredClone(json) as any;
    const env = copy.dsseEnvelope;
    const bytes = Buffer.from(field === 'sig' ? env.signatures[0].sig : env.payload, 'base64');
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    if (field === 'sig') env.signatures[0].sig = bytes.toString('base64');
    else env.payload = bytes.toString('base64');
    assert.throws(() => sigstoreVerify(copy, pub), `flipped ${field} still verifies`);
    assert.throws(
      () => verifyStatementBundle(parseDsseBundle(copy), { $case: 'key', keyId: key.keyId, publicKey: createPublicKey(pub) }),
      (e) => isReprodError(e, 'SIGNATURE_INVALID'),
    );
  }
});

test('a bundle does not verify against another key', async () => {
  const other = await makeKey(dir, 'other');
  const json = await signStatement(vsaStatement(inputs.vsaReproduced), await keySigner(key.privatePath));
  const otherPub = createPublicKey(await readFile(other.publicPath, 'utf8'));
  assert.throws(() => verifyStatementBundle(parseDsseBundle(json), { $case: 'key', keyId: other.keyId, publicKey: otherPub }), (e) => isReprodError(e, 'UNTRUSTED_SIGNER'));
  // Same hint but another key's bytes: the signature itself fails.
  assert.throws(() => verifyStatementBundle(parseDsseBundle(json), { $case: 'key', keyId: key.keyId, publicKey: otherPub }), (e) => isReprodError(e, 'SIGNATURE_INVALID'));
});

test('createSigner reads signing.key relative to the config folder', async () => {
  const signer = await createSigner({ key: 'a/reprod.key', verifierId: 'x' }, dir);
  assert.equal(signer.kind, 'key');
  assert.equal(signer.keyId, key.keyId);
  await assert.rejects(createSigner(undefined, dir), (e) => isReprodError(e, 'CONFIG_INVALID'));
});
