import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { claimFromPayload, intakeAttestation, loadTrustMaterial, parseAttestation } from '../../src/attest/index.ts';
import type { ReprodError } from '../../src/errors.ts';

// Real provenance from GitHub builders (slsa-verifier's test data), verified
// offline against the public-good trusted root embedded in @sigstore/tuf.
const DATA = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/upstream/slsa-verifier');
const GITHUB = { identityPattern: 'https://github\\.com/.+', issuer: 'https://token.actions.githubusercontent.com' };

interface Case {
  file: string;
  binary?: string;
  format: string;
  buildType: string;
  builderId: string;
  repo: string;
  commit: string;
  identity?: string;
}

const GEN = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows';
const CASES: Case[] = [
  {
    file: 'gha_go/v2.1.0/binary-linux-amd64-workflow_dispatch.intoto.jsonl',
    binary: 'gha_go/v2.1.0/binary-linux-amd64-workflow_dispatch',
    format: 'sigstore-bundle',
    buildType: 'https://github.com/slsa-framework/slsa-github-generator/go@v1',
    builderId: `${GEN}/builder_go_slsa3.yml@refs/tags/v2.1.0`,
    repo: 'git+https://github.com/slsa-framework/example-package',
    commit: '4d329c75e7ec1725f7c9ce917a8799d408d06be3',
    identity: `${GEN}/builder_go_slsa3.yml@refs/tags/v2.1.0`,
  },
  {
    file: 'gha_generic/v2.1.0/binary-linux-amd64-workflow_dispatch.intoto.jsonl',
    binary: 'gha_generic/v2.1.0/binary-linux-amd64-workflow_dispatch',
    format: 'sigstore-bundle',
    buildType: 'https://github.com/slsa-framework/slsa-github-generator/generic@v1',
    builderId: `${GEN}/generator_generic_slsa3.yml@refs/tags/v2.1.0`,
    repo: 'git+https://github.com/slsa-framework/example-package',
    commit: '4d329c75e7ec1725f7c9ce917a8799d408d06be3',
    identity: `${GEN}/generator_generic_slsa3.yml@refs/tags/v2.1.0`,
  },
  {
    file: 'gha_container-based/v1.7.0/binary-linux-amd64-workflow_dispatch.intoto.sigstore',
    format: 'sigstore-bundle',
    buildType: 'https://slsa.dev/container-based-build/v0.1?draft',
    builderId: `${GEN}/builder_container-based_slsa3.yml@refs/tags/v1.7.0`,
    repo: 'git+https://github.com/slsa-framework/example-package',
    commit: '62cb1f1e485829bafe8bbec8b9900c0cb7624fe7',
    identity: `${GEN}/builder_container-based_slsa3.yml@refs/tags/v1.7.0`,
  },
  {
    file: 'npm-attestations.intoto.sigstore',
    format: 'npm-attestations',
    buildType: 'https://github.com/npm/cli/gha@v1',
    builderId: 'https://github.com/npm/cli@9.5.0',
    repo: 'git+https://github.com/laurentsimon/provenance-npm-test',
    commit: '16babffb9153811e193c019939391357372b25ce',
    identity: 'https://github.com/laurentsimon/provenance-npm-test/.github/workflows/release.yml@refs/heads/main',
  },
  {
    // Bare DSSE from generator v0.0.2: no certificate chain or log entry travels with it.
    file: 'gha_go/v0.0.2/binary-linux-amd64-workflow_dispatch.intoto.jsonl',
    binary: 'gha_go/v0.0.2/binary-linux-amd64-workflow_dispatch',
    format: 'dsse',
    buildType: 'https://github.com/slsa-framework/slsa-github-generator/go@v1',
    builderId: `${GEN}/builder_go_slsa3.yml@refs/tags/v0.0.2`,
    repo: 'git+https://github.com/slsa-framework/example-package',
    commit: '5759317b1ad4c65adbc3281fd9bdacc9203234bb',
  },
];

for (const c of CASES) {
  test(`slsa-verifier data: ${c.file}`, async () => {
    const bytes = readFileSync(join(DATA, c.file));
    const parsed = parseAttestation(bytes);
    assert.equal(parsed.format, c.format);
    const env = parsed.envelopes[0]!;
    const dsse = env.$case === 'dsse' ? env.dsse : env.dsse!;
    const claim = claimFromPayload(dsse.payload);
    assert.equal(claim.kind, 'provenance');
    assert.equal(claim.buildType, c.buildType);
    assert.ok(claim.builderId.startsWith(c.builderId.replace(/\.yml@.*$/, '')), claim.builderId);
    assert.equal(claim.source?.uri, c.repo);
    assert.equal(claim.source?.commit, c.commit);
    if (c.binary) {
      const sha = createHash('sha256').update(readFileSync(join(DATA, c.binary))).digest('hex');
      assert.equal(claim.subjects[0]!.sha256, sha, 'subject digest is the sha256 of the binary beside it');
    }
    const trust = await loadTrustMaterial({ identities: [GITHUB] }, DATA);
    if (c.identity) {
      const [vc] = await intakeAttestation(bytes, trust, c.binary ? { artifactSha256: claim.subjects[0]!.sha256 } : {});
      assert.deepEqual(vc!.signer, { $case: 'identity', identity: c.identity, issuer: GITHUB.issuer });
      assert.equal(vc!.attestation.sha256, createHash('sha256').update(bytes).digest('hex'));
      // The same bundle under a policy naming someone else is refused.
      const other = await loadTrustMaterial({ identities: [{ identity: 'https://github.com/evil/repo/.github/workflows/x.yml@refs/heads/main', issuer: GITHUB.issuer }] }, DATA);
      await assert.rejects(intakeAttestation(bytes, other), (e: ReprodError) => e.code === 'UNTRUSTED_SIGNER');
    } else {
      await assert.rejects(intakeAttestation(bytes, trust), (e: ReprodError) => e.code === 'UNTRUSTED_SIGNER');
    }
  });
}

test('slsa-verifier data: the npm subject carries only sha512', async () => {
  const parsed = parseAttestation(readFileSync(join(DATA, 'npm-attestations.intoto.sigstore')));
  const claim = claimFromPayload(parsed.envelopes[0]!.$case === 'bundle' ? parsed.envelopes[0]!.dsse!.payload : Buffer.alloc(0));
  assert.equal(claim.subjects[0]!.name, 'pkg:npm/%40laurentsimon/provenance-npm-test@1.0.0');
  assert.equal(claim.subjects[0]!.sha256, '');
  assert.match(claim.subjects[0]!.digest!.sha512!, /^[0-9a-f]{128}$/);
});

test('slsa-verifier data: a keyed VSA verifies with its key and decodes as a VSA', async () => {
  const dir = join(DATA, 'vsa/gce/v1');
  const bytes = readFileSync(join(dir, 'gke-gce-pre.bcid-vsa.jsonl'));
  const trust = await loadTrustMaterial({ keys: [{ id: 'bcid', path: 'vsa_signing_public_key.pem' }] }, dir);
  const [vc] = await intakeAttestation(bytes, trust);
  assert.deepEqual(vc!.signer, { $case: 'key', keyId: 'bcid' });
  assert.equal(vc!.claim.kind, 'vsa');
  assert.equal(vc!.claim.vsa?.verificationResult, 'PASSED');
  assert.equal(vc!.claim.vsa?.verifierId, 'https://bcid.corp.google.com/verifier/bcid_package_enforcer/v0.1');
  assert.deepEqual(vc!.claim.vsa?.verifiedLevels, ['BCID_L1', 'SLSA_BUILD_LEVEL_2']);
  // Flip one byte of the payload: the signature no longer holds.
  const env = JSON.parse(bytes.toString('utf8')) as { payload: string };
  const payload = Buffer.from(env.payload, 'base64');
  payload[payload.length - 3] ^= 1;
  const tampered = Buffer.from(JSON.stringify({ ...env, payload: payload.toString('base64') }));
  await assert.rejects(intakeAttestation(tampered, trust), (e: ReprodError) => e.code === 'UNTRUSTED_SIGNER');
});
