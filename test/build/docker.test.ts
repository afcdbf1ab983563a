import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { connectDocker, isStale, OWNER_LABEL, ownerLabels, removeStaleContainers } from '../../src/build/docker.ts';
import { CONTAINER_LABEL } from '../../src/config/defaults.ts';
import { isReprodError } from '../../src/errors.ts';
import { builderImageId, labelledContainers, testDocker } from '../support/docker.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const NO_SOCKET = '/nonexistent/reprod-test/docker.sock';

function cli(args: string[]) {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, REPROD_LOG_FORMAT: 'json' } });
}

describe('Docker engine edge', () => {
  it('DOCKER_UNAVAILABLE (retryable) when no engine answers at the socket', async () => {
    await assert.rejects(connectDocker(NO_SOCKET), (e) => isReprodError(e, 'DOCKER_UNAVAILABLE') && e.retryable);
  });

  it('the CLI exits 2 with error[DOCKER_UNAVAILABLE] when the engine is unreachable', () => {
    for (const args of [['images', 'build', '--socket', NO_SOCKET], ['setup', '--no-image', '--quiet', '--socket', NO_SOCKET]]) {
      const r = cli(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /error\[DOCKER_UNAVAILABLE\]/);
    }
  });

  it('stale means: owner process on this host is gone, or very old', () => {
    const now = Date.now() / 1000;
    const dead = spawnSync('true').pid;
    assert.equal(isStale({ [OWNER_LABEL]: `${hostname()}/${process.pid}` }, now - 1e6, now), false);
    assert.equal(isStale({ [OWNER_LABEL]: `${hostname()}/${dead}` }, now, now), true);
    assert.equal(isStale({ [OWNER_LABEL]: 'elsewhere/1' }, now - 60, now), false);
    assert.equal(isStale({}, now - 24 * 3600, now), true);
  });

  it('removeStaleContainers removes containers of dead owners and keeps live ones', async () => {
    const docker = await testDocker();
    const image = await builderImageId();
    const dead = spawnSync('true').pid;
    const jobStale = `test-stale-${process.pid}`;
    const jobLive = `test-live-${process.pid}`;
    await docker.createContainer({ Image: image, Cmd: ['true'], Labels: { [CONTAINER_LABEL]: jobStale, [OWNER_LABEL]: `${hostname()}/${dead}` } });
    const live = await docker.createContainer({ Image: image, Cmd: ['true'], Labels: ownerLabels(jobLive) });
    await docker.createVolume({ Name: `${jobStale}-vol`, Labels: { [CONTAINER_LABEL]: jobStale, [OWNER_LABEL]: `${hostname()}/${dead}` } });
    try {
      const removed = await removeStaleContainers(docker);
      assert.ok(removed.containers >= 1 && removed.volumes >= 1, JSON.stringify(removed));
      assert.deepEqual(await labelledContainers(docker, jobStale), []);
      assert.equal((await labelledContainers(docker, jobLive)).length, 1);
      const { Volumes } = await docker.listVolumes({ filters: { label: [`${CONTAINER_LABEL}=${jobStale}`] } });
      assert.deepEqual(Volumes ?? [], []);
    } finally {
      await live.remove({ force: true });
    }
  });
});
