import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { testDocker } from '../support/docker.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const canIsolate = process.getuid?.() === 0 && spawnSync('unshare', ['--version']).status === 0 && spawnSync('sh', ['-c', 'command -v dockerd']).status === 0;

/**
 * `reprod setup` on a machine with no engine running, for real: a private mount,
 * network and pid namespace hides this machine's engine (its socket, data and
 * containerd), so setup must start its own dockerd. The namespace ends with the
 * test and takes that dockerd with it; the machine's engine is not touched.
 */
it('setup starts dockerd when no engine answers; the engine outlives the command; a second run is a no-op', { skip: !canIsolate && 'needs root, unshare and dockerd' }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-setup-engine-'));
  try {
    const script = [
      'set -e',
      'mount -t tmpfs tmpfs /run',
      // dockerd's data (its managed containerd lives under it too); /var/lib/docker exists once docker.io is installed.
      'mount -t tmpfs tmpfs /var/lib/docker',
      'ip link set lo up 2>/dev/null || true',
      'echo "before: $("$0" "$1" doctor 2>/dev/null | grep -q "^ok *docker engine" && echo up || echo down)"',
      '"$0" "$1" setup --no-image 2>&1; echo "setup rc=$?"',
      // setup has exited: the engine it started must still answer.
      'echo "after: $("$0" "$1" doctor 2>/dev/null | grep -q "^ok *docker engine" && echo up || echo down)"',
      '"$0" "$1" setup --no-image 2>&1; echo "again rc=$?"',
    ].join('\n');
    const r = spawnSync('unshare', ['--mount', '--net', '--pid', '--fork', '--mount-proc', '--propagation', 'private', 'sh', '-c', script, process.execPath, MAIN], {
      encoding: 'utf8',
      env: { ...process.env, TMPDIR: dir },
      timeout: 120_000,
    });
    const out = r.stdout + r.stderr;
    assert.match(out, /before: down/, out);
    assert.match(out, /starting dockerd/, out);
    assert.match(out, /answers at .* \(started now\)/, out);
    assert.match(out, /setup rc=0/, out);
    assert.match(out, /after: up/, out);
    assert.match(out, /again rc=0/, out);
    assert.equal((out.match(/starting dockerd/g) ?? []).length, 1, 'the second run started nothing');
    assert.match(await readFile(join(dir, 'reprod-dockerd.log'), 'utf8'), /API listen on/);
    await (await testDocker()).ping(); // this machine's engine is untouched
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
