/** `reprod daemon --check-config` and `reprod status` through the real CLI. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { silentLogger } from '../../src/log/logger.ts';
import { daemonWorkspace, shellAttestation, TEST_TOKEN, waitFor } from '../support/daemon.ts';

const run = promisify(execFile);
const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(NODE, [MAIN, ...args], { env: { ...process.env, REPROD_LOG_LEVEL: 'silent' } });
    return { code: 0, ...r };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

test('daemon --check-config prints the effective settings; a wrong key is named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-cli-daemon-'));
  try {
    const ws = await daemonWorkspace(dir);
    const ok = await cli(['daemon', '--config', ws.configPath, '--check-config']);
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, /config ok/);
    assert.match(ok.stdout, /feeds: directory .*in every 0\.2s/);
    assert.match(ok.stdout, /token: from the config file/);
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'daemon:\n  concurency: 4\n  heartbeatSeconds: 90\n');
    const r = await cli(['daemon', '--config', bad, '--check-config']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /error\[CONFIG_INVALID\]/);
    assert.match(r.stderr, /daemon/);
    assert.match(r.stderr, /concurency/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('status prints the queue and recent verdicts of a running daemon', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-cli-status-'));
  const ws = await daemonWorkspace(dir, { feeds: [] });
  const daemon = await Daemon.start({ loaded: loadConfig(ws.configPath), logger: silentLogger, runner: { run: async () => ({ outcome: 'not-reproduced' }) } });
  try {
    await fetch(`${daemon.url}/v1/attestations`, { method: 'POST', headers: { authorization: `Bearer ${TEST_TOKEN}` }, body: shellAttestation('status.tgz', 'true', 'x') });
    await waitFor('a verdict', async () => (await daemon.store.countByState()).done === 1);
    const r = await cli(['status', '--url', daemon.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /jobs: 0 running, 0 queued, 1 done, 0 error/);
    assert.match(r.stdout, /recent verdicts\n {2}not-reproduced {2}status\.tgz/);
    const json = JSON.parse((await cli(['status', '--url', daemon.url, '--json'])).stdout) as { recent: unknown[] };
    assert.equal(json.recent.length, 1);
  } finally {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const down = await cli(['status', '--url', 'http://127.0.0.1:9']);
  assert.equal(down.code, 2);
  assert.match(down.stderr, /error\[DAEMON_UNREACHABLE\]/);
});
