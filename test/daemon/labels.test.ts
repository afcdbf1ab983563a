import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Claim } from '../../src/attest/types.ts';
import { canBuild, jobRequirements } from '../../src/daemon/labels.ts';
import { debianArch, workerLabels } from '../../src/daemon/workers-registry.ts';

function claim(buildType: string, externalParameters: Record<string, unknown> = {}): Claim {
  return { statementType: 'https://in-toto.io/Statement/v1', predicateType: 'https://slsa.dev/provenance/v1', subjects: [], buildType, builderId: 'b', externalParameters, resolvedDependencies: [] };
}

test('a job needs the rebuilder of its buildType and the architecture it declares or names', () => {
  const table: [Claim, string, object][] = [
    [claim('https://reprod.dev/buildtypes/container/v1'), 'hello.tgz', { rebuilder: 'container' }],
    [claim('https://github.com/npm/cli/gha/v2'), 'pkg-1.0.0.tgz', { rebuilder: 'npm' }],
    [claim('https://example.org/unknown'), 'x.bin', {}],
    [claim('https://example.org/deb'), 'hello_2.10-3_arm64.deb', { arch: 'arm64' }],
    [claim('https://example.org/deb'), 'hello_2.10-3_all.deb', {}],
    [claim('https://example.org/bin', { platform: 'linux/aarch64' }), 'tool', { arch: 'arm64' }],
    [claim('https://example.org/bin', { arch: 'amd64' }), 'tool-linux-arm64.tar.gz', { arch: 'amd64' }],
    [claim('https://example.org/bin'), 'tool-linux-riscv64.tar.gz', { arch: 'riscv64' }],
  ];
  for (const [c, name, want] of table) assert.deepEqual(jobRequirements(c, name), want, name);
});

test('a worker builds a job only when its labels cover every requirement', () => {
  const npmAmd64 = { arch: ['amd64'], rebuilders: ['npm'] };
  assert.equal(canBuild(npmAmd64, {}), true);
  assert.equal(canBuild(npmAmd64, { rebuilder: 'npm', arch: 'amd64' }), true);
  assert.equal(canBuild(npmAmd64, { rebuilder: 'debian' }), false);
  assert.equal(canBuild(npmAmd64, { arch: 'arm64' }), false);
  assert.equal(canBuild({}, { arch: 'arm64', rebuilder: 'go' }), true, 'no labels: any job');
});

test('default labels: the machine architecture, every rebuilder', () => {
  assert.equal(debianArch('x64'), 'amd64');
  assert.equal(debianArch('arm64'), 'arm64');
  assert.deepEqual(workerLabels(), { arch: [debianArch()] });
  assert.deepEqual(workerLabels({ arch: ['arm64'], rebuilders: ['go'] }), { arch: ['arm64'], rebuilders: ['go'] });
});
