import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

it('`reprod --help` into a pipe closed early (| head) exits 0 without an EPIPE crash', () => {
  // The reader is gone before reprod writes, so every write gets EPIPE.
  const script = `"$0" "$1" --help 2>&1 >&3 3>&- | cat; exit \${PIPESTATUS[0]}`;
  const r = spawnSync('bash', ['-c', `exec 3> >(true); ${script}`, process.execPath, MAIN], { encoding: 'utf8' });
  assert.equal(r.stdout, '', `stderr of reprod: ${r.stdout}`);
  assert.equal(r.status, 0);
});
