/**
 * The repo's Dockerfile builds the daemon image from a local base (mmdebstrap'd
 * Debian + this machine's Node 24; no registry here), runs as non-root, serves
 * /healthz from inside a container, and exits 0 on `docker stop` (SIGTERM).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { nodeBaseImage } from '../support/daemon-image.ts';
import { waitFor } from '../support/daemon.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TAG = 'reprod-daemon-test/daemon:dockerfile';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test('Dockerfile: builds from a local BASE_IMAGE, runs non-root, serves the API, stops cleanly', async () => {
  const base = await nodeBaseImage();
  await run('docker', ['build', '-q', '--build-arg', `BASE_IMAGE=${base}`, '-t', TAG, ROOT], { maxBuffer: 64 * 1024 * 1024 });
  const { stdout: user } = await run('docker', ['image', 'inspect', '--format', '{{.Config.User}}', TAG]);
  assert.equal(user.trim(), '10001:10001');
  const help = await run('docker', ['run', '--rm', TAG, 'daemon', '--help']);
  assert.match(help.stdout, /Usage: reprod daemon/);

  const dir = await mkdtemp(join(tmpdir(), 'reprod-dockerfile-'));
  await chmod(dir, 0o755);
  const port = await freePort();
  const name = `reprod-daemon-test-${process.pid}`;
  // Host networking: the API stays on loopback and the test reaches it there.
  await writeFile(join(dir, 'reprod.yaml'), `dataDir: /var/lib/reprod\ndaemon:\n  api:\n    port: ${port}\n`);
  await chmod(join(dir, 'reprod.yaml'), 0o644);
  try {
    const check = await run('docker', ['run', '--rm', '-v', `${dir}/reprod.yaml:/etc/reprod/reprod.yaml:ro`, TAG, 'daemon', '--config', '/etc/reprod/reprod.yaml', '--check-config']);
    assert.match(check.stdout, /config ok/);
    await run('docker', ['run', '-d', '--name', name, '--network', 'host', '-v', `${dir}/reprod.yaml:/etc/reprod/reprod.yaml:ro`, TAG]);
    await waitFor('the containerised daemon', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 30_000);
    const { stdout: uid } = await run('docker', ['exec', name, 'node', '-e', 'process.stdout.write(String(process.getuid()))']);
    assert.equal(uid, '10001');
    await run('docker', ['stop', '-t', '20', name]);
    const { stdout: code } = await run('docker', ['inspect', '--format', '{{.State.ExitCode}}', name]);
    assert.equal(code.trim(), '0');
  } finally {
    await run('docker', ['rm', '-f', name]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
});
