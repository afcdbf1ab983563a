/** daemon.rekorUrl: the signed outputs of a job are logged in Rekor once, inside the publish step. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import type { JobRunner } from '../../src/daemon/runner.ts';
import { silentLogger } from '../../src/log/logger.ts';
import { generateKeyFiles, keySigner, signStatement } from '../../src/publish/index.ts';
import type { Statement } from '../../src/publish/index.ts';
import { startSigstoreMock } from '../support/sigstore-mock.ts';
import { daemonWorkspace, shellAttestation, TEST_TOKEN, waitFor } from '../support/daemon.ts';

test('signed outputs go to the configured Rekor once per job', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-rekor-'));
  const mock = await startSigstoreMock();
  try {
    const key = await generateKeyFiles(join(dir, 'keys'));
    const ws = await daemonWorkspace(dir, { feeds: [], rekorUrl: mock.rekorUrl });
    const raw = JSON.parse(await readFile(ws.configPath, 'utf8')) as Record<string, unknown>;
    await writeFile(ws.configPath, JSON.stringify({ ...raw, signing: { key: key.privatePath } }));
    const signer = await keySigner(key.privatePath);
    const runner: JobRunner = {
      async run(job) {
        const statement = (predicateType: string): Statement =>
          ({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: job.subject.name, digest: { sha256: job.subject.sha256 } }], predicateType, predicate: {} }) as unknown as Statement;
        const vsa = await signStatement(statement('https://slsa.dev/verification_summary/v1'), signer);
        const provenance = await signStatement(statement('https://slsa.dev/provenance/v1'), signer);
        return { outcome: 'reproduced', publications: [{ jobId: job.id, subject: job.subject, outcome: 'reproduced', vsa, provenance, verdict: {} }] };
      },
    };
    const daemon = await Daemon.start({ loaded: loadConfig(ws.configPath), logger: silentLogger, runner });
    try {
      const res = await fetch(`${daemon.url}/v1/attestations`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}` }, body: shellAttestation('r.tgz', 'true', 'r') });
      assert.equal(res.status, 201);
      await waitFor('the verdict', async () => (await daemon.store.countByState()).done === 1);
      assert.equal(mock.hits.rekor, 2, 'the VSA and the rebuild provenance');
      const audit = (await readFile(join(ws.dataDir, 'audit.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; details?: { rekorLogIndexes?: string[] } });
      assert.equal(audit.find((e) => e.type === 'job-verdict')?.details?.rekorLogIndexes?.length, 2);
    } finally {
      await daemon.stop();
    }
  } finally {
    await mock.close();
    await rm(dir, { recursive: true, force: true });
  }
});
