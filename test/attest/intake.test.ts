import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { claimFromStatement, intakeAttestation, loadTrustMaterial, pae, parseAttestation } from '../../src/attest/index.ts';
import { isReprodError, type ReprodError } from '../../src/errors.ts';
import { signStatement } from '../../src/publish/sign.ts';
import { keySigner } from '../../src/publish/signers/index.ts';
import type { Statement } from '../../src/publish/statements.ts';
import { makeKey, scratch } from '../support/publish.ts';

const SHA = 'a'.repeat(64);
const COMMIT = 'b'.repeat(40);
const IMAGE = `sha256:${'c'.repeat(64)}`;

function containerStatement(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'hello.tar', digest: { sha256: SHA } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://reprod.dev/buildtypes/container/v1',
        externalParameters: { source: { uri: 'https://git.example.org/hello.git', commit: COMMIT, ref: 'main' }, image: IMAGE, command: ['make'], outputs: { 'hello.tar': 'hello.tar' } },
        resolvedDependencies: [{ uri: 'git+https://git.example.org/hello.git', digest: { gitCommit: COMMIT } }],
      },
      runDetails: { builder: { id: 'https://ci.example.org/builder' }, metadata: { startedOn: '2026-01-01T00:00:00Z' } },
    },
    ...over,
  };
}

function ecKey(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

function dsse(statement: unknown, privateKey: KeyObject, payloadType = 'application/vnd.in-toto+json', keyid = ''): Record<string, unknown> {
  const payload = Buffer.from(JSON.stringify(statement));
  const sig = sign('sha256', pae(payloadType, payload), privateKey);
  return { payloadType, payload: payload.toString('base64'), signatures: [{ keyid, sig: sig.toString('base64') }] };
}

async function trustWith(dir: string, keys: Record<string, KeyObject>, extra: Record<string, unknown> = {}) {
  const list = [];
  for (const [id, k] of Object.entries(keys)) {
    await writeFile(join(dir, `${id}.pub`), k.export({ type: 'spki', format: 'pem' }));
    list.push({ id, path: `${id}.pub` });
  }
  return loadTrustMaterial({ keys: list, ...extra }, dir);
}

const codeIs = (code: string) => (e: unknown) => isReprodError(e) && e.code === code;

test('the container buildType decodes into a claim with its source', () => {
  const claim = claimFromStatement(containerStatement());
  assert.equal(claim.kind, 'provenance');
  assert.equal(claim.buildType, 'https://reprod.dev/buildtypes/container/v1');
  assert.equal(claim.builderId, 'https://ci.example.org/builder');
  assert.deepEqual(claim.source, { uri: 'https://git.example.org/hello.git', commit: COMMIT, ref: 'main' });
  assert.deepEqual(claim.subjects, [{ name: 'hello.tar', sha256: SHA, digest: { sha256: SHA } }]);
  assert.equal(claim.startedOn, '2026-01-01T00:00:00Z');
});

test('a GitHub workflow provenance v1 takes its commit from the matching dependency', () => {
  const st = containerStatement();
  const p = st.predicate as { buildDefinition: Record<string, unknown> };
  p.buildDefinition.externalParameters = { workflow: { repository: 'https://github.com/o/r', ref: 'refs/tags/v1', path: '.github/workflows/release.yml' } };
  p.buildDefinition.resolvedDependencies = [{ uri: 'git+https://github.com/o/r@refs/tags/v1', digest: { gitCommit: COMMIT } }];
  assert.deepEqual(claimFromStatement(st).source, { uri: 'https://github.com/o/r', commit: COMMIT, ref: 'refs/tags/v1' });
});

test('bare DSSE and in-toto JSONL signed with a trusted key verify; each line is one claim', async () => {
  const { dir, cleanup } = await scratch('reprod-intake-');
  try {
    const k = ecKey();
    const trust = await trustWith(dir, { upstream: k.publicKey });
    const one = Buffer.from(JSON.stringify(dsse(containerStatement(), k.privateKey)));
    const [vc] = await intakeAttestation(one, trust, { uri: 'x.dsse.json', artifactSha256: SHA });
    assert.equal(vc!.attestation.format, 'dsse');
    assert.deepEqual(vc!.signer, { $case: 'key', keyId: 'upstream' });
    const jsonl = Buffer.from(`${JSON.stringify(dsse(containerStatement(), k.privateKey))}\n${JSON.stringify(dsse(containerStatement(), k.privateKey))}\n`);
    const claims = await intakeAttestation(jsonl, trust);
    assert.equal(claims.length, 2);
    assert.equal(claims[0]!.attestation.format, 'intoto-jsonl');
  } finally {
    await cleanup();
  }
});

test('a Sigstore bundle signed by reprod keys verifies with that key and not with another', async () => {
  const { dir, cleanup } = await scratch('reprod-intake-');
  try {
    const key = await makeKey(dir, 'a');
    const bundle = await signStatement(containerStatement() as unknown as Statement, await keySigner(key.privatePath));
    const bytes = Buffer.from(JSON.stringify(bundle));
    assert.equal(parseAttestation(bytes).format, 'sigstore-bundle');
    const ok = await loadTrustMaterial({ keys: [{ id: 'a', path: 'a/reprod.pub' }] }, dir);
    const [vc] = await intakeAttestation(bytes, ok);
    assert.deepEqual(vc!.signer, { $case: 'key', keyId: 'a' });
    const other = await trustWith(dir, { b: ecKey().publicKey });
    await assert.rejects(intakeAttestation(bytes, other), codeIs('UNTRUSTED_SIGNER'));
    // Nothing trusted at all: fail closed, unless unverified input is allowed on purpose.
    await assert.rejects(intakeAttestation(bytes, await loadTrustMaterial({}, dir)), codeIs('UNTRUSTED_SIGNER'));
    const [open] = await intakeAttestation(bytes, await loadTrustMaterial({ allowUnverified: true }, dir));
    assert.deepEqual(open!.signer, { $case: 'unverified' });
  } finally {
    await cleanup();
  }
});

test('policy and content refusals carry their codes', async () => {
  const { dir, cleanup } = await scratch('reprod-intake-');
  try {
    const k = ecKey();
    const trust = await trustWith(dir, { up: k.publicKey });
    const bytes = (st: unknown, type?: string) => Buffer.from(JSON.stringify(dsse(st, k.privateKey, type)));
    await assert.rejects(intakeAttestation(bytes(containerStatement()), trust, { artifactSha256: 'd'.repeat(64) }), codeIs('SUBJECT_MISMATCH'));
    const strict = await trustWith(dir, { up: k.publicKey }, { builders: ['/https:\\/\\/trusted\\.example\\/.*/'] });
    await assert.rejects(intakeAttestation(bytes(containerStatement()), strict), codeIs('POLICY_DENIED'));
    await assert.rejects(intakeAttestation(bytes(containerStatement(), 'text/plain'), trust), codeIs('UNSUPPORTED_FORMAT'));
    await assert.rejects(intakeAttestation(bytes(containerStatement({ predicateType: 'https://example.org/custom' })), trust), codeIs('UNSUPPORTED_PREDICATE'));
    const dup = containerStatement({ subject: [{ name: 'x', digest: { sha256: SHA } }, { name: 'x', digest: { sha256: SHA } }] });
    await assert.rejects(intakeAttestation(bytes(dup), trust), codeIs('ATTESTATION_MALFORMED'));
    const badHex = containerStatement({ subject: [{ name: 'x', digest: { sha256: 'xyz' } }] });
    await assert.rejects(intakeAttestation(bytes(badHex), trust), codeIs('ATTESTATION_MALFORMED'));
    // A valid signature by someone else over a good statement is still refused.
    const stranger = Buffer.from(JSON.stringify(dsse(containerStatement(), ecKey().privateKey)));
    await assert.rejects(intakeAttestation(stranger, trust), codeIs('UNTRUSTED_SIGNER'));
    // The trusted key's own signature over a payload changed after signing: tampered.
    const env = dsse(containerStatement(), k.privateKey, undefined, 'up');
    const changed = Buffer.from(JSON.stringify(containerStatement({ subject: [{ name: 'evil', digest: { sha256: SHA } }] }))).toString('base64');
    await assert.rejects(intakeAttestation(Buffer.from(JSON.stringify({ ...env, payload: changed })), trust), codeIs('SIGNATURE_INVALID'));
  } finally {
    await cleanup();
  }
});

test('malformed, oversized and deeply nested inputs get coded errors', async () => {
  const trust = await loadTrustMaterial({ allowUnverified: true }, '.');
  const cases: [string, Uint8Array, string[]][] = [
    ['not JSON', Buffer.from('{"a":'), ['ATTESTATION_MALFORMED']],
    ['not UTF-8', Buffer.from([0xff, 0xfe, 0x00]), ['ATTESTATION_MALFORMED']],
    ['empty', Buffer.from('  \n'), ['ATTESTATION_MALFORMED']],
    ['a JSON number', Buffer.from('42'), ['UNSUPPORTED_FORMAT']],
    ['deep nesting', Buffer.from(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), ['ATTESTATION_MALFORMED', 'ATTESTATION_TOO_LARGE']],
    ['huge', Buffer.alloc(17 * 1024 * 1024, 0x20), ['ATTESTATION_TOO_LARGE']],
    ['DSSE without signatures', Buffer.from(JSON.stringify({ payloadType: 'application/vnd.in-toto+json', payload: 'e30=', signatures: [] })), ['ATTESTATION_MALFORMED']],
    ['unknown bundle version', Buffer.from(JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v9+json' })), ['UNSUPPORTED_FORMAT']],
  ];
  for (const [what, bytes, codes] of cases) {
    await assert.rejects(intakeAttestation(bytes, trust), (e: ReprodError) => codes.includes(e.code), what);
  }
});
// Fuzzing of intake (and the other parsers of hostile bytes) is in test/hostile/fuzz.test.ts.
