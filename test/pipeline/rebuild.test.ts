import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { isReprodError } from '../../src/errors.ts';
import { rebuildAttestation } from '../../src/pipeline/rebuild.ts';
import type { ProgressEvent } from '../../src/pipeline/progress.ts';
import { parseDsseBundle, parsePublicKey, verifyStatementBundle, keyIdOf } from '../../src/publish/index.ts';
import { rebuildWorld, type RebuildWorld } from '../support/rebuild-world.ts';

const run = promisify(execFile);
let world: RebuildWorld;

before(async () => {
  world = await rebuildWorld(['hello-c', 'date-macro', 'tar-good', 'tar-bad', 'embed-date', 'tampered', 'wrong-digest', 'unknown-build-type', 'missing-commit']);
});
after(() => world?.cleanup());

async function rebuild(name: string, events?: ProgressEvent[]) {
  const c = world.caseNamed(name);
  return rebuildAttestation(await readFile(c.attestation), world.ctx, { uri: c.attestation, ...(events ? { onProgress: (e) => events.push(e) } : {}) });
}

/** Verifies a signed output with reprod's public key and returns its in-toto statement. */
async function verifiedStatement(path: string): Promise<any> {
  const pem = await readFile(world.reprodKey.publicPath, 'utf8');
  const publicKey = parsePublicKey(pem);
  return verifyStatementBundle(parseDsseBundle(JSON.parse(await readFile(path, 'utf8'))), { $case: 'key', keyId: keyIdOf(publicKey), publicKey });
}

describe('reproduced', () => {
  for (const name of ['hello-c', 'date-macro', 'tar-good']) {
    test(`${name} reproduces, with a signed PASSED VSA and rebuild provenance`, async () => {
      const [v] = await rebuild(name);
      assert.equal(v!.outcome, 'reproduced', JSON.stringify(v!.error));
      assert.equal(v!.rebuiltSha256, v!.subject.sha256);
      const vsa = await verifiedStatement(join(v!.dir, 'vsa.sigstore.json'));
      assert.equal(vsa.predicate.verificationResult, 'PASSED');
      assert.equal(vsa.subject[0]!.digest.sha256, v!.subject.sha256);
      const prov = (await verifiedStatement(join(v!.dir, 'rebuild.sigstore.json'))) as { predicate: { buildDefinition: { externalParameters: { plan: { env: Record<string, string> } } } } };
      assert.equal(prov.predicate.buildDefinition.externalParameters.plan.env.SOURCE_DATE_EPOCH, '1700000000');
      const verdict = JSON.parse(await readFile(join(v!.dir, 'verdict.json'), 'utf8')) as { outcome: string; files: Record<string, string> };
      assert.equal(verdict.outcome, 'reproduced');
      assert.ok((await stat(join(v!.dir, 'build.log'))).size > 0);
      await stat(join(v!.dir, verdict.files.artifact!));
      // The consumer's view: intake's verify-bundle CLI, with reprod's public key and the rebuilt artifact.
      for (const file of ['vsa.sigstore.json', 'rebuild.sigstore.json']) {
        const args = ['src/cli/main.ts', 'verify-bundle', join(v!.dir, file), '--key', world.reprodKey.publicPath, '--artifact', join(v!.dir, verdict.files.artifact!)];
        const r = await run(process.execPath, args).then(() => 0, (e: { code: number; stderr: string }) => e.code);
        assert.equal(r, 0, `verify-bundle ${file}`);
      }
    });
  }
});

describe('not reproduced', () => {
  test('tar-bad differs, and the report names the differing member', async () => {
    const [v] = await rebuild('tar-bad');
    assert.equal(v!.outcome, 'not-reproduced', JSON.stringify(v!.error));
    const text = await readFile(join(v!.dir, 'report.txt'), 'utf8');
    // The member paths and the classified cause (build-time mtimes) are named.
    assert.match(text, /files\/VERSION/);
    assert.match(text, /archive-mtime/);
    JSON.parse(await readFile(join(v!.dir, 'report.json'), 'utf8'));
    assert.match(await readFile(join(v!.dir, 'report.html'), 'utf8'), /<html|<!doctype/i);
    const vsa = await verifiedStatement(join(v!.dir, 'vsa.sigstore.json'));
    assert.equal(vsa.predicate.verificationResult, 'FAILED');
    assert.ok((vsa.predicate.reprod.causes as { kind: string }[]).some((c) => c.kind === 'archive-mtime'));
  });

  test('embed-date differs, and the report names build-info.txt', async () => {
    const [v] = await rebuild('embed-date');
    assert.equal(v!.outcome, 'not-reproduced', JSON.stringify(v!.error));
    const text = await readFile(join(v!.dir, 'report.txt'), 'utf8');
    assert.match(text, /build-info\.txt/);
    assert.match(text, /embedded-timestamp/);
  });
});

describe('errors', () => {
  test('a tampered attestation is refused (SIGNATURE_INVALID: the trusted key named by the bundle does not verify it) and nothing is signed', async () => {
    await assert.rejects(rebuild('tampered'), (e) => isReprodError(e, 'SIGNATURE_INVALID'));
  });
  for (const [name, code] of [
    ['wrong-digest', 'SUBJECT_MISMATCH'],
    ['unknown-build-type', 'UNKNOWN_BUILD_TYPE'],
    ['missing-commit', 'SOURCE_COMMIT_NOT_FOUND'],
  ] as const) {
    test(`${name} ends as error ${code}, with a signed failure VSA`, async () => {
      const [v] = await rebuild(name);
      assert.equal(v!.outcome, 'error');
      assert.equal(v!.error?.code, code);
      const vsa = (await verifiedStatement(join(v!.dir, 'vsa.sigstore.json'))) as { predicate: { verificationResult: string; reprod: { error: { code: string } } } };
      assert.equal(vsa.predicate.verificationResult, 'FAILED');
      assert.equal(vsa.predicate.reprod.error.code, code);
    });
  }
});

describe('cache', () => {
  test('a second rebuild of the same commit fetches nothing, even with the origin deleted', async () => {
    await rebuild('hello-c');
    await rm(join(world.fixtures.root, 'repos', 'hello-c'), { recursive: true, force: true });
    const events: ProgressEvent[] = [];
    const [v] = await rebuild('hello-c', events);
    assert.equal(v!.outcome, 'reproduced', JSON.stringify(v!.error));
    assert.ok(events.some((e) => e.stage === 'fetch' && e.state === 'info' && /from cache/.test(e.message ?? '')));
    assert.ok(!events.some((e) => /cloning/.test(e.message ?? '')));
    assert.equal((v!.verdict.source as { cached: boolean }).cached, true);
  });
});

describe('CLI', () => {
  const cli = (...args: string[]) =>
    run(process.execPath, ['src/cli/main.ts', 'rebuild', ...args], { env: { ...process.env, REPROD_LOG_LEVEL: 'silent' } }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
  const common = () => ['--config', world.configFile, '--out', join(world.dir, 'cli-out'), '--json'];

  test('exit 0 when reproduced, with --json verdicts on stdout', async () => {
    const r = await cli(world.caseNamed('hello-c').attestation, ...common());
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { outcome: string }[])[0]!.outcome, 'reproduced');
  });
  test('exit 1 when not reproduced', async () => {
    const r = await cli(world.caseNamed('tar-bad').attestation, ...common());
    assert.equal(r.code, 1, r.stderr);
  });
  test('--trust-key and --signing-key stand in for the config sections', async () => {
    const { writeFile } = await import('node:fs/promises');
    const bare = join(world.dir, 'bare.yaml');
    await writeFile(bare, JSON.stringify({ dataDir: join(world.dir, 'data'), docker: { fetchNetwork: 'host' }, trust: { allowFileSources: true } }));
    const args = ['--config', bare, '--out', join(world.dir, 'cli-out2'), '--json'];
    const refused = await cli(world.caseNamed('hello-c').attestation, ...args, '--signing-key', world.reprodKey.privatePath);
    assert.equal(refused.code, 2, 'no trusted key: nothing verifies');
    assert.match(refused.stderr, /error\[UNTRUSTED_SIGNER\]/);
    const r = await cli(world.caseNamed('hello-c').attestation, ...args, '--trust-key', world.fixtures.key.publicPath, '--signing-key', world.reprodKey.privatePath);
    assert.equal(r.code, 0, r.stderr);
  });
  test('exit 2 with a coded error for a tampered attestation', async () => {
    const r = await cli(world.caseNamed('tampered').attestation, ...common());
    assert.equal(r.code, 2);
    assert.match(r.stderr, /error\[SIGNATURE_INVALID\]/);
  });
});
