import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { SerializedBundle } from '@sigstore/bundle';
import * as inputs from '../../fixtures/publish/inputs.ts';
import { isReprodError } from '../../src/errors.ts';
import { evaluate, readAttestations, type AttestationInput } from '../../src/publish/consumer.ts';
import { loadConsumerPolicy, type ConsumerPolicy } from '../../src/publish/policy.ts';
import { signStatement } from '../../src/publish/sign.ts';
import { keySigner, type OutputSigner } from '../../src/publish/signers/index.ts';
import { DirectorySink } from '../../src/publish/sinks/directory.ts';
import { rebuildProvenance, vsaStatement, type VsaInput } from '../../src/publish/statements.ts';
import { verifyAuditFile } from '../../src/publish/audit.ts';
import { makeKey, scratch } from '../support/publish.ts';
import { fakeOidcToken, startSigstoreMock, type SigstoreMock } from '../support/sigstore-mock.ts';
import { keylessSigner } from '../../src/publish/signers/keyless.ts';

const ARTIFACT = Buffer.from('hello, reproducible world\n');
let SHA: string;
const OTHER_SHA = 'e'.repeat(64);
const NAMES = ['alice', 'bob', 'carol', 'dave'] as const; // dave is not in the policy

let dir: string;
let cleanup: () => Promise<void>;
const signers: Record<string, OutputSigner> = {};

before(async () => {
  ({ dir, cleanup } = await scratch('reprod-consumer-'));
  SHA = (await import('node:crypto')).createHash('sha256').update(ARTIFACT).digest('hex');
  await writeFile(join(dir, 'hello.txt'), ARTIFACT);
  for (const n of NAMES) {
    const k = await makeKey(join(dir, 'keys'), n);
    signers[n] = await keySigner(k.privatePath);
  }
});
after(() => cleanup());

async function policyFile(threshold: number, extra = ''): Promise<string> {
  const path = join(dir, `policy-${threshold}-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(
    path,
    `threshold: ${threshold}\nrebuilders:\n  - { name: alice, key: keys/alice/reprod.pub }\n  - { name: bob, key: keys/bob/reprod.pub }\n  - { name: carol, key: keys/carol/reprod.pub }\n${extra}`,
  );
  return path;
}

function vsa(over: Partial<VsaInput> = {}): VsaInput {
  return { ...inputs.vsaReproduced, subject: { name: 'hello.txt', sha256: SHA }, rebuiltSha256: SHA, ...over };
}

async function att(who: string, over: Partial<VsaInput> = {}, source = who): Promise<AttestationInput> {
  return { source, json: await signStatement(vsaStatement(vsa(over)), signers[who]!) };
}

const status = (r: ReturnType<typeof evaluate>) => Object.fromEntries(r.rebuilders.map((b) => [b.name, b.status]));

test('thresholds 1, 2, 3 against three rebuilders of which two reproduced', async () => {
  const atts = [await att('alice'), await att('bob'), await att('carol', { outcome: 'not-reproduced', rebuiltSha256: OTHER_SHA, causes: [{ kind: 'mtime', summary: 'x' }] })];
  for (const [k, trusted] of [[1, true], [2, true], [3, false]] as const) {
    const r = evaluate(SHA, atts, await loadConsumerPolicy(await policyFile(k)));
    assert.equal(r.trusted, trusted, `threshold ${k}`);
    assert.equal(r.agreed, 2);
  }
  const r = evaluate(SHA, atts, await loadConsumerPolicy(await policyFile(2)));
  assert.deepEqual(status(r), { alice: 'reproduced', bob: 'reproduced', carol: 'not-reproduced' });
  assert.equal(r.rebuilders[2]!.detail, 'mtime');
});

test('all three reproduced meets threshold 3; none present is not trusted', async () => {
  const policy = await loadConsumerPolicy(await policyFile(3));
  assert.equal(evaluate(SHA, [await att('alice'), await att('bob'), await att('carol')], policy).trusted, true);
  const none = evaluate(SHA, [], policy);
  assert.equal(none.trusted, false);
  assert.deepEqual(status(none), { alice: 'missing', bob: 'missing', carol: 'missing' });
});

test('a rebuilder counts once however many attestations it has', async () => {
  const policy = await loadConsumerPolicy(await policyFile(2));
  const r = evaluate(SHA, [await att('alice', {}, 'a1'), await att('alice', { timeVerified: '2026-01-03T00:00:00Z' }, 'a2'), await att('alice', {}, 'a3')], policy);
  assert.equal(r.agreed, 1);
  assert.equal(r.trusted, false);
  assert.equal(r.rebuilders[0]!.attestations, 3);
});

test("a rebuilder's latest verdict stands", async () => {
  const policy = await loadConsumerPolicy(await policyFile(1));
  const older = await att('alice', { timeVerified: '2026-01-01T00:00:00Z' });
  const newerFail = await att('alice', { timeVerified: '2026-02-01T00:00:00Z', outcome: 'error', rebuiltSha256: undefined, error: { code: 'BUILD_FAILED', message: 'boom' } });
  const r = evaluate(SHA, [older, newerFail], policy);
  assert.equal(r.rebuilders[0]!.status, 'error');
  assert.match(r.rebuilders[0]!.detail ?? '', /BUILD_FAILED/);
  assert.equal(r.trusted, false);
});

test('a tampered attestation does not count', async () => {
  const policy = await loadConsumerPolicy(await policyFile(1));
  const good = await att('alice');
  const b = structuredClone(good.json) as any;
  // Rewrite the payload to claim another rebuilt digest: the signature no longer matches.
  const stmt = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString());
  stmt.predicate.timeVerified = '2030-01-01T00:00:00Z';
  b.dsseEnvelope.payload = Buffer.from(JSON.stringify(stmt)).toString('base64');
  const r = evaluate(SHA, [{ source: 'tampered', json: b }], policy);
  assert.equal(r.trusted, false);
  assert.deepEqual(r.ignored.map((i) => i.reason), ['signature-invalid']);
  // A FAILED VSA turned into PASSED by editing is likewise refused.
  const failed = await att('bob', { outcome: 'not-reproduced', rebuiltSha256: OTHER_SHA });
  const f = structuredClone(failed.json) as any;
  const s2 = JSON.parse(Buffer.from(f.dsseEnvelope.payload, 'base64').toString());
  s2.predicate.verificationResult = 'PASSED';
  s2.predicate.verifiedLevels = ['SLSA_BUILD_LEVEL_2', 'SLSA_BUILD_REPRODUCED'];
  f.dsseEnvelope.payload = Buffer.from(JSON.stringify(s2)).toString('base64');
  assert.equal(evaluate(SHA, [{ source: 'flipped', json: f }], policy).trusted, false);
});

test('an attestation for another digest does not count', async () => {
  const policy = await loadConsumerPolicy(await policyFile(1));
  const r = evaluate(SHA, [await att('alice', { subject: { name: 'other', sha256: OTHER_SHA }, rebuiltSha256: OTHER_SHA })], policy);
  assert.equal(r.trusted, false);
  assert.deepEqual(r.ignored.map((i) => i.reason), ['other-digest']);
  assert.equal(r.rebuilders[0]!.status, 'missing');
});

test('an unnamed signer does not count, even claiming a named key id', async () => {
  const policy = await loadConsumerPolicy(await policyFile(1));
  const dave = await att('dave');
  const r = evaluate(SHA, [dave], policy);
  assert.equal(r.trusted, false);
  assert.deepEqual(r.ignored.map((i) => i.reason), ['unnamed-signer']);
  const forged = structuredClone(dave.json) as any;
  forged.verificationMaterial.publicKey.hint = signers.alice!.keyId;
  const r2 = evaluate(SHA, [{ source: 'forged-hint', json: forged }], policy);
  assert.equal(r2.trusted, false);
  assert.deepEqual(r2.ignored.map((i) => i.reason), ['signature-invalid']);
});

test('provenance bundles and junk are ignored, not counted', async () => {
  const policy = await loadConsumerPolicy(await policyFile(1));
  const prov = await signStatement(rebuildProvenance({ ...inputs.provenanceReproduced, subject: { name: 'hello.txt', sha256: SHA }, rebuiltSha256: SHA }), signers.alice!);
  const r = evaluate(SHA, [{ source: 'prov', json: prov }, { source: 'junk', json: { hello: 1 } }, { source: 'text', json: 'nope' }], policy);
  assert.equal(r.trusted, false);
  assert.deepEqual(r.ignored.map((i) => i.reason).sort(), ['malformed', 'malformed', 'not-a-vsa']);
});

test('policy errors are coded: bad threshold, duplicate signer, unreadable key', async () => {
  await assert.rejects(loadConsumerPolicy(await policyFile(4)), (e) => isReprodError(e, 'CONFIG_INVALID') && /threshold/.test(e.message));
  await assert.rejects(loadConsumerPolicy(await policyFile(1, '  - { name: alice2, key: keys/alice/reprod.pub }\n')), (e) => isReprodError(e, 'CONFIG_INVALID'));
  await assert.rejects(loadConsumerPolicy(await policyFile(1, '  - { name: eve, key: keys/nope.pub }\n')), (e) => isReprodError(e, 'CONFIG_NOT_FOUND'));
  await assert.rejects(loadConsumerPolicy(await policyFile(1, '  - { name: ci, identity: x, issuer: y }\n')), (e) => isReprodError(e, 'CONFIG_INVALID') && /trustedRoot/.test(e.message));
  await assert.rejects(loadConsumerPolicy(await policyFile(1, '  - { name: typo, kee: x }\n')), (e) => isReprodError(e, 'CONFIG_INVALID'));
});

const CLI = new URL('../../src/cli/main.ts', import.meta.url).pathname;
function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, 'verify', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('reprod verify reads a directory-sink tree: table, --json, exit codes, audit log', async () => {
  const out = join(dir, 'published');
  const publish = async (who: string, over: Partial<VsaInput> = {}) => {
    const sink = new DirectorySink(join(out, who));
    const v = vsa(over);
    await sink.publish({
      jobId: `job-${who}`,
      subject: v.subject,
      outcome: v.outcome,
      vsa: await signStatement(vsaStatement(v), signers[who]!),
      provenance: await signStatement(rebuildProvenance({ ...inputs.provenanceReproduced, subject: v.subject, rebuiltSha256: v.rebuiltSha256 }), signers[who]!),
      verdict: { outcome: v.outcome },
    });
  };
  await publish('alice');
  await publish('bob', { outcome: 'not-reproduced', rebuiltSha256: OTHER_SHA, causes: [{ kind: 'embedded-timestamp', summary: 'date in VERSION' }] });
  await publish('dave');
  const p1 = await policyFile(1);
  const p2 = await policyFile(2);
  const audit = join(dir, 'consumer-audit.jsonl');

  const ok = cli([join(dir, 'hello.txt'), '--attestations', out, '--policy', p1, '--audit-log', audit]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /alice\s+key [0-9a-f]{16}…\s+reproduced/);
  assert.match(ok.stdout, /bob\s+.*not-reproduced.*embedded-timestamp/);
  assert.match(ok.stdout, /carol\s+.*no attestation/);
  assert.match(ok.stdout, /ignored 4 attestation\(s\): 2 not-a-vsa, 2 unnamed-signer/); // dave signed a VSA and a provenance
  assert.match(ok.stdout, /^TRUSTED: 1 of 3 rebuilders reproduced it \(threshold 1\)$/m);

  const no = cli([`sha256:${SHA}`, '--attestations', out, '--policy', p2, '--json', '--audit-log', audit]);
  assert.equal(no.status, 1, no.stderr);
  const j = JSON.parse(no.stdout);
  assert.equal(j.trusted, false);
  assert.equal(j.agreed, 1);
  assert.equal(j.rebuilders.find((r: any) => r.name === 'bob').status, 'not-reproduced');

  const audited = await verifyAuditFile(audit);
  assert.equal(audited.status, 'ok');
  assert.equal(audited.entries, 2);
  const lines = (await readFile(audit, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.outcome), ['trusted', 'not-trusted']);

  assert.equal(cli([join(dir, 'missing-artifact'), '--attestations', out, '--policy', p1]).status, 2);
  assert.equal(cli([join(dir, 'hello.txt'), '--attestations', out, '--policy', join(dir, 'nope.yaml')]).status, 2);
});

test('readAttestations: JSONL lines, explicit non-bundle files reported, folders skip other JSON', async () => {
  const d = join(dir, 'mixed');
  await mkdir(d, { recursive: true });
  const a = (await att('alice')).json as SerializedBundle;
  const b = (await att('bob')).json as SerializedBundle;
  await writeFile(join(d, 'both.intoto.jsonl'), `${JSON.stringify(a)}\n${JSON.stringify(b)}\n`);
  await writeFile(join(d, 'verdict.json'), '{"outcome":"reproduced"}');
  const fromDir = await readAttestations([d]);
  assert.deepEqual(fromDir.attestations.map((x) => x.source.split('/').pop()), ['both.intoto.jsonl:1', 'both.intoto.jsonl:2']);
  const explicit = await readAttestations([join(d, 'verdict.json')]);
  assert.equal(explicit.attestations.length, 1);
  const policy: ConsumerPolicy = await loadConsumerPolicy(await policyFile(2));
  assert.equal(evaluate(SHA, fromDir.attestations, policy).trusted, true);
});

test('keyless rebuilder named by identity + issuer counts; another identity does not', async () => {
  const mock: SigstoreMock = await startSigstoreMock();
  try {
    await writeFile(join(dir, 'trusted_root.json'), JSON.stringify(mock.trustedRoot));
    const ISSUER = 'https://issuer.rebuilder.test';
    const sign = async (identity: string) => {
      const s = keylessSigner({ fulcioUrl: mock.fulcioUrl, rekorUrl: mock.rekorUrl, tokenEnv: 'T' }, dir, { T: fakeOidcToken({ iss: ISSUER, sub: identity }) });
      return signStatement(vsaStatement(vsa()), s);
    };
    const path = await policyFile(2, `  - { name: ci, identity: "https://ci.test/rebuild", issuer: "${ISSUER}" }\ntrustedRoot: trusted_root.json\n`);
    const policy = await loadConsumerPolicy(path);
    const r = evaluate(SHA, [await att('alice'), { source: 'ci', json: await sign('https://ci.test/rebuild') }, { source: 'stranger', json: await sign('https://stranger.test/') }], policy);
    assert.deepEqual(status(r), { alice: 'reproduced', bob: 'missing', carol: 'missing', ci: 'reproduced' });
    assert.equal(r.trusted, true);
    assert.deepEqual(r.ignored.map((i) => [i.source, i.reason]), [['stranger', 'unnamed-signer']]);
  } finally {
    await mock.close();
  }
});
