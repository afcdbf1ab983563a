/**
 * The Debian rebuilder end to end, with real containers, real gpg signatures
 * and a real (local) signed archive: fixtures/debian/reprod-hello is built once
 * by "the vendor" (test/support/debian-vendor.ts), its .buildinfo is signed
 * with a throw-away key, its source package is served from a mini-archive on
 * 127.0.0.1, and reprod rebuilds it from the .buildinfo alone.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadTrustMaterial, intakeAttestation } from '../../src/attest/index.ts';
import { resolveImage } from '../../src/build/images.ts';
import { parseConfig } from '../../src/config/load.ts';
import { isReprodError } from '../../src/errors.ts';
import { debianDocumentKind, intakeDebian } from '../../src/inputs/debian/intake.ts';
import { silentLogger } from '../../src/log/logger.ts';
import { createRebuildContext, type RebuildContext } from '../../src/pipeline/context.ts';
import { rebuildAttestation, type JobVerdict } from '../../src/pipeline/rebuild.ts';
import { generateKeyFiles, keyIdOf, parseDsseBundle, parsePublicKey, verifyStatementBundle } from '../../src/publish/index.ts';
import { startMiniArchive, type MiniArchive } from '../support/debian-archive.ts';
import { vendorBuild, SOURCE, VERSION, type VendorBuild } from '../support/debian-vendor.ts';
import { testDocker } from '../support/docker.ts';
import { faketimeStart } from '../../rebuilders/debian/toolchain.ts';
import { makeTestKey, type TestKey } from '../support/gpg-key.ts';

let dir: string;
let vendor: VendorBuild;
let key: TestKey;
let archive: MiniArchive;
let reprodKey: { keyId: string; privatePath: string; publicPath: string };
/** The vendor's .buildinfo, clear-signed with the test key, alone in a folder (no .debs beside it). */
let signedBuildinfo: string;

const read = (name: string) => readFile(join(vendor.dir, name));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reprod-debian-rebuild-'));
  vendor = await vendorBuild(await testDocker());
  key = await makeTestKey('reprod test vendor');
  archive = await startMiniArchive({
    key,
    suite: 'bookworm',
    architectures: [vendor.arch],
    sources: [{ name: SOURCE, version: VERSION, files: [{ name: vendor.dsc, bytes: await read(vendor.dsc) }, { name: vendor.tarball, bytes: await read(vendor.tarball) }] }],
    binaries: [
      { package: SOURCE, version: VERSION, architecture: vendor.arch, bytes: await read(vendor.debs.program) },
      { package: `${SOURCE}-stamp`, version: VERSION, architecture: 'all', source: SOURCE, bytes: await read(vendor.debs.stamp) },
    ],
  });
  reprodKey = await generateKeyFiles(join(dir, 'keys', 'reprod'));
  await mkdir(join(dir, 'in'), { recursive: true });
  signedBuildinfo = join(dir, 'in', vendor.buildinfo);
  await writeFile(signedBuildinfo, await key.clearsign((await read(vendor.buildinfo)).toString('utf8')));
});

after(async () => {
  await archive?.close();
  await key?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function context(debian: Record<string, unknown>, trustDebian: Record<string, unknown> = { keyrings: [key.keyring] }): Promise<RebuildContext> {
  const raw = {
    // Each context its own data folder: the source cache of one test must not hide a tampered download in another.
    dataDir: join(dir, 'data', createHash('sha256').update(JSON.stringify([debian, trustDebian])).digest('hex').slice(0, 8)),
    docker: { fetchNetwork: 'host' },
    trust: { debian: trustDebian },
    signing: { key: reprodKey.privatePath },
    rebuilders: { debian: { archive: { mirror: archive.url, suites: [archive.suite], keyrings: [key.keyring] }, ...debian } },
    limits: { timeoutSeconds: 600, memoryMb: 1024 },
  };
  const config = parseConfig(raw);
  const trust = await loadTrustMaterial(config.trust, dir, { extraKeys: [] });
  const docker = await testDocker();
  return createRebuildContext({
    loaded: { config, baseDir: dir },
    docker,
    // As src/pipeline/wire.ts routes it: Debian documents are told from their content.
    intake: (bytes, uri) => (debianDocumentKind(bytes) ? intakeDebian(bytes, { config, baseDir: dir, policy: trust.policy }, uri) : intakeAttestation(bytes, trust, uri === undefined ? {} : { uri })),
    resolveImage: (name) => resolveImage(docker, name),
    logger: silentLogger,
    outDir: join(dir, 'out', createHash('sha256').update(JSON.stringify(debian)).digest('hex').slice(0, 8)),
  });
}

async function verifiedStatement(path: string): Promise<any> {
  const publicKey = parsePublicKey(await readFile(reprodKey.publicPath, 'utf8'));
  return verifyStatementBundle(parseDsseBundle(JSON.parse(await readFile(path, 'utf8'))), { $case: 'key', keyId: keyIdOf(publicKey), publicKey });
}

const byName = (vs: JobVerdict[], name: string) => {
  const v = vs.find((x) => x.subject.name === name);
  assert.ok(v, `no verdict for ${name}: ${vs.map((x) => x.subject.name).join(', ')}`);
  return v;
};

describe('rebuilt from the .buildinfo alone', () => {
  test('clock real: the program reproduces (signed PASSED VSA); the build-date leak does not, and the report names it', async () => {
    const ctx = await context({ clock: 'real' });
    const verdicts = await rebuildAttestation(await readFile(signedBuildinfo), ctx, { uri: signedBuildinfo });
    assert.equal(verdicts.length, 2);
    const program = byName(verdicts, vendor.debs.program);
    assert.equal(program.outcome, 'reproduced', JSON.stringify(program.error));
    const vsa = await verifiedStatement(join(program.dir, 'vsa.sigstore.json'));
    assert.equal(vsa.predicate.verificationResult, 'PASSED');
    assert.equal(vsa.subject[0].digest.sha256, program.subject.sha256);
    const prov = await verifiedStatement(join(program.dir, 'rebuild.sigstore.json'));
    const plan = prov.predicate.buildDefinition.externalParameters.plan;
    assert.equal(plan.rebuilder, 'debian');
    assert.equal(plan.clock, 'real');
    assert.equal(plan.workdir, '/build/reproducible-path');
    assert.equal(plan.env.SOURCE_DATE_EPOCH, '1709287200');
    assert.equal(plan.source.repo, `deb-src:${SOURCE}=${VERSION}`);
    assert.equal(plan.source.commit, createHash('sha256').update(await read(vendor.dsc)).digest('hex'));
    assert.deepEqual(prov.predicate.buildDefinition.resolvedDependencies[0], { uri: plan.source.repo, digest: { sha256: plan.source.commit } });

    const stamp = byName(verdicts, vendor.debs.stamp);
    assert.equal(stamp.outcome, 'not-reproduced', JSON.stringify(stamp.error));
    const text = await readFile(join(stamp.dir, 'report.txt'), 'utf8');
    assert.match(text, /built\.txt/);
    assert.match(text, /embedded-timestamp/);
    assert.match(text, /2024-03-05/);
    const failed = await verifiedStatement(join(stamp.dir, 'vsa.sigstore.json'));
    assert.equal(failed.predicate.verificationResult, 'FAILED');
    assert.ok((failed.predicate.reprod.causes as { kind: string }[]).some((c) => c.kind === 'embedded-timestamp'));
  });

  test('clock build-date: both .debs reproduce, and the provenance says the clock was faked', async () => {
    const ctx = await context({ clock: 'build-date' });
    const verdicts = await rebuildAttestation(await readFile(signedBuildinfo), ctx, { uri: signedBuildinfo });
    for (const name of [vendor.debs.program, vendor.debs.stamp]) {
      const v = byName(verdicts, name);
      assert.equal(v.outcome, 'reproduced', `${name}: ${JSON.stringify(v.error)}`);
      const prov = await verifiedStatement(join(v.dir, 'rebuild.sigstore.json'));
      const plan = prov.predicate.buildDefinition.externalParameters.plan;
      assert.equal(plan.clock, 'build-date');
      const buildDate = /^Build-Date: (.+)$/m.exec((await read(vendor.buildinfo)).toString('utf8'))![1]!;
      assert.match(buildDate, /05 Mar 2024 12:00/);
      const start = `@${faketimeStart(Date.parse(buildDate) / 1000)}`;
      assert.ok(plan.build.some((s: { run: string[] }) => s.run.includes('faketime') && s.run.includes(start)), JSON.stringify(plan.build));
    }
  });
});

describe('toolchain drift: a recorded build dependency version the mirror no longer has', () => {
  /** The vendor's buildinfo claiming make 4.3-4 (the mirror has 4.3-4.1), signed. */
  async function driftedBuildinfo(): Promise<string> {
    const text = (await read(vendor.buildinfo)).toString('utf8');
    assert.match(text, / make \(= 4\.3-4\.1\),/);
    const path = join(dir, 'drift', vendor.buildinfo);
    await mkdir(join(dir, 'drift'), { recursive: true });
    await writeFile(path, await key.clearsign(text.replace(' make (= 4.3-4.1),', ' make (= 4.3-4),')));
    return path;
  }

  test('refused before any image is made, naming the package, unless allowDrift', async () => {
    const path = await driftedBuildinfo();
    const verdicts = await rebuildAttestation(await readFile(path), await context({}), { uri: path });
    for (const v of verdicts) {
      assert.equal(v.error?.code, 'IMAGE_BUILD_FAILED');
      assert.match(v.error!.message, /make 4\.3-4 \(mirror has 4\.3-4\.1\)/);
    }
  });

  test('with allowDrift: built with the mirror\'s version; the verdict notes the drift and the mismatch report names toolchain-drift', async () => {
    const path = await driftedBuildinfo();
    const verdicts = await rebuildAttestation(await readFile(path), await context({ allowDrift: true }), { uri: path });
    const program = byName(verdicts, vendor.debs.program);
    assert.equal(program.outcome, 'reproduced', JSON.stringify(program.error));
    assert.ok((program.verdict.notes as string[]).includes('toolchain drift: make 4.3-4.1 (buildinfo: 4.3-4)'), JSON.stringify(program.verdict.notes));
    const stamp = byName(verdicts, vendor.debs.stamp);
    assert.equal(stamp.outcome, 'not-reproduced');
    const text = await readFile(join(stamp.dir, 'report.txt'), 'utf8');
    assert.match(text, /toolchain-drift/);
    assert.match(text, /make 4\.3-4\.1 \(buildinfo: 4\.3-4\)/);
    assert.match(text, /embedded-timestamp/);
    const vsa = await verifiedStatement(join(stamp.dir, 'vsa.sigstore.json'));
    assert.ok((vsa.predicate.reprod.causes as { kind: string }[]).some((c) => c.kind === 'toolchain-drift'));
  });
});

describe('the .dsc signature, when rebuilders.debian.sourceKeyrings asks for one', () => {
  test('a maintainer-signed .dsc verifies and the package rebuilds', async () => {
    const signedDsc = Buffer.from(await key.clearsign((await read(vendor.dsc)).toString('utf8')));
    const signedArchive = await startMiniArchive({
      key,
      suite: 'bookworm',
      architectures: [vendor.arch],
      sources: [{ name: SOURCE, version: VERSION, files: [{ name: vendor.dsc, bytes: signedDsc }, { name: vendor.tarball, bytes: await read(vendor.tarball) }] }],
    });
    try {
      // A relative keyring path resolves against the config file's folder.
      await mkdir(join(dir, 'keys'), { recursive: true });
      await writeFile(join(dir, 'keys', 'maintainers.gpg'), await readFile(key.keyring));
      const ctx = await context({ archive: { mirror: signedArchive.url, suites: [signedArchive.suite], keyrings: [key.keyring] }, sourceKeyrings: ['keys/maintainers.gpg'] });
      const [v] = await rebuildAttestation(await readFile(signedBuildinfo), ctx, { uri: signedBuildinfo, subject: vendor.debs.program });
      assert.equal(v!.outcome, 'reproduced', JSON.stringify(v!.error));
      assert.equal(v!.verdict.plan && (v!.verdict.plan as { source: { commit: string } }).source.commit, createHash('sha256').update(signedDsc).digest('hex'));
    } finally {
      await signedArchive.close();
    }
  });

  test('an unsigned .dsc is an error verdict SIGNATURE_INVALID, before any image or build', async () => {
    const ctx = await context({ sourceKeyrings: [key.keyring] });
    const verdicts = await rebuildAttestation(await readFile(signedBuildinfo), ctx, { uri: signedBuildinfo });
    for (const v of verdicts) assert.equal(v.error?.code, 'SIGNATURE_INVALID');
  });
});

describe('refused before any build', () => {
  test('a buildinfo signed by a key outside trust.debian.keyrings is SIGNATURE_INVALID', async () => {
    const other = await makeTestKey('someone else');
    try {
      const ctx = await context({}, { keyrings: [other.keyring] });
      await assert.rejects(rebuildAttestation(await readFile(signedBuildinfo), ctx, { uri: signedBuildinfo }), (e) => isReprodError(e, 'SIGNATURE_INVALID'));
    } finally {
      await other.cleanup();
    }
  });

  test('an unsigned buildinfo whose .debs the signed archive does not list is UNTRUSTED_SIGNER', async () => {
    const text = (await read(vendor.buildinfo)).toString('utf8').replace(/^ [0-9a-f]{64} (\d+ reprod-hello_)/m, ` ${'0'.repeat(64)} $1`);
    const ctx = await context({}, { keyrings: [] });
    await assert.rejects(rebuildAttestation(Buffer.from(text), ctx, { uri: join(dir, 'in', 'unsigned.buildinfo') }), (e) => isReprodError(e, 'UNTRUSTED_SIGNER'));
  });

  test('a source tarball that is not the one the signed Sources index names: error verdict INPUT_DIGEST_MISMATCH, nothing built', async () => {
    const path = `pool/main/r/${SOURCE}/${vendor.tarball}`;
    const good = archive.get(path)!;
    archive.put(path, Buffer.concat([good, Buffer.from('tampered')]));
    try {
      const ctx = await context({ clock: 'source-date-epoch' });
      const verdicts = await rebuildAttestation(await readFile(signedBuildinfo), ctx, { uri: signedBuildinfo });
      for (const v of verdicts) {
        assert.equal(v.outcome, 'error');
        assert.equal(v.error?.code, 'INPUT_DIGEST_MISMATCH');
      }
    } finally {
      archive.put(path, good);
    }
  });
});
