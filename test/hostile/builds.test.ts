/**
 * Hostile builds, each in a real container through the hermetic executor, run
 * side by side: network attempts, fork bomb, disk fill, memory hog, endless
 * build, a flood of log, reading secrets / the Docker socket / host paths,
 * setuid binaries and devices. Every case has its coded outcome (or, for probes
 * that must find nothing, the exact "blocked" report), leaves no container or
 * volume behind, and writes nothing outside its job folder.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import { hostAptSources } from '../../src/build/apt-sources.ts';
import { executePlan, type ExecuteOptions } from '../../src/build/executor.ts';
import { CONTAINER_LABEL } from '../../src/config/defaults.ts';
import { isReprodError, type ErrorCode } from '../../src/errors.ts';
import { silentLogger } from '../../src/log/logger.ts';
import { generateKeyFiles } from '../../src/publish/index.ts';
import type { BuildPlan } from '../../src/plan/types.ts';
import { makeGitRepo } from '../../fixtures/repo.ts';
import { loadConfig } from '../../src/config/load.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import type { Job } from '../../src/store/types.ts';
import { waitFor } from '../support/daemon.ts';
import { builderImageId, labelledContainers, testDocker, testPlan } from '../support/docker.ts';
import { Canary, sha256, signedContainerAttestation, signedStatements, Workspace } from './harness.ts';

let docker: Docker;
let root: string;
let sourceDir: string;
let canary: Canary;
let ws: Workspace;
let n = 0;
let server: Server;
let port = 0;
let connections = 0;
/** A Debian mirror of this machine (from its apt sources): the one outside host builds may aim at. */
let mirror: { host: string; ip: string } | undefined;
let suidImage = '';
const savedEnv = { ...process.env };

before(async () => {
  docker = await testDocker();
  root = await mkdtemp(join(tmpdir(), 'reprod-hostile-build-'));
  sourceDir = join(root, 'source');
  await mkdir(sourceDir);
  await writeFile(join(sourceDir, 'input.txt'), 'source bytes\n');
  // The signing key and tokens live on the host, beside the daemon; builds must never see them.
  canary = new Canary(join(root, 'canary'));
  await generateKeyFiles(join(canary.dir, 'keys'));
  await canary.arm();
  process.env.REPROD_API_TOKEN = canary.secret;
  process.env.REPROD_HOSTILE_SECRET = canary.secret;
  ws = new Workspace(root, [join(root, 'jobs'), join(root, 'daemon'), join(root, 'project')]);
  await ws.snapshot();
  server = createServer((s) => {
    connections += 1;
    s.end('reached\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
  const uri = (await hostAptSources()).map((s) => s.uri).find((u) => /^https?:\/\//.test(u));
  if (uri) {
    const host = new URL(uri).hostname;
    const ip = await lookup(host, { family: 4 }).then((a) => a.address, () => undefined);
    if (ip) mirror = { host, ip };
  }
  // An image with a setuid-root copy of `id`, as a hostile builder image could have.
  const base = await builderImageId();
  const c = await docker.createContainer({ Image: base, Cmd: ['sh', '-c', 'cp /usr/bin/id /usr/local/bin/suid-id && chmod 4755 /usr/local/bin/suid-id'], HostConfig: { NetworkMode: 'none' } });
  try {
    await c.start();
    await c.wait();
    suidImage = ((await c.commit({ comment: 'reprod hostile suite: setuid probe' })) as { Id: string }).Id;
  } finally {
    await c.remove({ force: true });
  }
});

after(async () => {
  process.env = savedEnv;
  await new Promise<void>((r) => server.close(() => r()));
  if (suidImage) await docker.getImage(suidImage).remove({ force: true }).catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

function job(over: Partial<ExecuteOptions> = {}): ExecuteOptions {
  n += 1;
  const jobId = `hostile-build-${process.pid}-${n}`;
  return { jobId, sourceDir, jobDir: join(root, 'jobs', jobId), fetchNetwork: 'host', logger: silentLogger, ...over };
}

async function assertCleanedUp(jobId: string): Promise<void> {
  assert.deepEqual(await labelledContainers(docker, jobId), [], 'a container was left behind');
  const { Volumes } = await docker.listVolumes({ filters: { label: [`${CONTAINER_LABEL}=${jobId}`] } });
  assert.deepEqual(Volumes ?? [], [], 'a volume was left behind');
}

/** Runs a plan that must fail with one of `codes`; returns the error. */
async function fails(plan: BuildPlan, codes: ErrorCode[], o = job()): Promise<Error & { code: string; details?: Record<string, unknown> }> {
  let caught: unknown;
  await executePlan(docker, plan, o).then(() => undefined, (e: unknown) => (caught = e));
  assert.ok(isReprodError(caught), `expected ${codes.join('|')}, got ${String(caught)}`);
  assert.ok(codes.includes(caught.code), `expected ${codes.join('|')}, got ${caught.code}: ${caught.message}`);
  await assertCleanedUp(o.jobId);
  return caught;
}

/** Runs a probe build whose output lists `name=result` lines. */
async function probe(plan: BuildPlan, o = job()): Promise<Record<string, string>> {
  const r = await executePlan(docker, plan, o);
  await assertCleanedUp(o.jobId);
  const text = await readFile(r.outputs[0]!.path, 'utf8');
  return Object.fromEntries(text.trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2) as [string, string]));
}

const script = (lines: string[]) => [{ name: 'probe', run: ['bash', '-c', `(${lines.join('\n')}) > probe.txt 2>/dev/null`] }];
const outputs = [{ name: 'probe.txt', path: 'probe.txt' }];

describe('hostile builds (real containers, in parallel)', { concurrency: true }, () => {
  it('network: DNS, TCP to the host loopback and out, raw sockets all fail in the build phase', async () => {
    const before = connections;
    const result = await probe(
      await testPlan({
        env: { SOURCE_DATE_EPOCH: '1', TZ: 'UTC', LC_ALL: 'C.UTF-8', PORT: String(port), MIRROR_HOST: mirror?.host ?? 'deb.invalid', MIRROR_IP: mirror?.ip ?? '192.0.2.1' },
        build: script([
          'echo "dns=$(getent hosts "$MIRROR_HOST" >/dev/null && echo reached || echo blocked)"',
          'echo "tcp-loopback=$(timeout 5 bash -c \'exec 3<>/dev/tcp/127.0.0.1/$PORT\' && echo reached || echo blocked)"',
          'echo "tcp-out=$(timeout 5 bash -c \'exec 3<>/dev/tcp/$MIRROR_IP/80\' && echo reached || echo blocked)"',
          'echo "raw-socket=$(python3 -c \'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)\' && echo opened || echo blocked)"',
          'echo "packet-socket=$(python3 -c \'import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\' && echo opened || echo blocked)"',
          'echo "interfaces=$(ls /sys/class/net | tr \'\\n\' \' \')"',
        ]),
        outputs,
      }),
    );
    assert.deepEqual(result, { dns: 'blocked', 'tcp-loopback': 'blocked', 'tcp-out': 'blocked', 'raw-socket': 'blocked', 'packet-socket': 'blocked', interfaces: 'lo' });
    assert.equal(connections - before, 0, 'the host server was reached');
  });

  it('fork bomb: ends as an error (pids limit), the host and the engine keep working', async () => {
    await fails(await testPlan({ build: [{ name: 'bomb', run: ['bash', '-c', 'b() { b | b & }; b; sleep 8; exit 9'] }], limits: { pids: 64, timeoutSeconds: 20 } }), ['BUILD_FAILED', 'BUILD_TIMEOUT']);
    assert.equal(execFileSync('sh', ['-c', 'echo alive']).toString(), 'alive\n');
    await docker.ping();
  });

  it('disk fill, one huge file: stopped at limits.scratchBytes (BUILD_SCRATCH_LIMIT)', async () => {
    const e = await fails(await testPlan({ build: [{ name: 'fill', run: ['sh', '-c', 'head -c 2000000000 /dev/zero > fill; echo done'] }], limits: { scratchBytes: 32 * 1024 * 1024 } }), ['BUILD_SCRATCH_LIMIT']);
    assert.ok(Number(e.details?.diskBytes) <= 40 * 1024 * 1024, `wrote ${String(e.details?.diskBytes)} bytes`);
  });

  it('disk fill, many files in the container\'s own file system, then hang: killed by the meter (BUILD_SCRATCH_LIMIT, not a timeout)', async () => {
    await fails(
      await testPlan({
        build: [{ name: 'fill', run: ['sh', '-c', 'for i in $(seq 1 40); do head -c 2000000 /dev/zero > /var/tmp/f$i; done; sleep 1000'] }],
        limits: { scratchBytes: 32 * 1024 * 1024, timeoutSeconds: 90 },
      }),
      ['BUILD_SCRATCH_LIMIT'],
    );
  });

  it('memory hog: killed (BUILD_OOM)', async () => {
    // A gigabyte at once (zeroed, so every page is touched).
    const e = await fails(await testPlan({ build: [{ name: 'hog', run: ['python3', '-c', 'b = bytearray(1 << 30)'] }], limits: { memoryBytes: 64 * 1024 * 1024 } }), ['BUILD_OOM', 'BUILD_FAILED']);
    // cgroup v1 flags the container OOMKilled; if not, the step still dies by SIGKILL (137).
    if (e.code === 'BUILD_FAILED') assert.equal(e.details?.exitCode, 137);
  });

  it('endless build: killed at limits.timeoutSeconds (BUILD_TIMEOUT)', async () => {
    await fails(await testPlan({ build: [{ name: 'hang', run: ['sleep', '1000'] }], limits: { timeoutSeconds: 3 } }), ['BUILD_TIMEOUT']);
  });

  it('gigabytes of log: stopped at limits.logBytes (BUILD_LOG_LIMIT), the log kept is capped and says so', async () => {
    const o = job();
    const e = await fails(await testPlan({ build: [{ name: 'chatty', run: ['sh', '-c', 'yes "$(head -c 1000 /dev/zero | tr \'\\0\' x)"'] }], limits: { logBytes: 1024 * 1024, timeoutSeconds: 60 } }), ['BUILD_LOG_LIMIT'], o);
    assert.equal(e.details?.logBytes, 1024 * 1024);
  });

  /** The search a hostile build would run for secrets; `leak` mounts the canary (the control). */
  async function secretSearch(leak: boolean): Promise<Record<string, string>> {
    const plan = await testPlan({
      env: { SOURCE_DATE_EPOCH: '1', TZ: 'UTC', LC_ALL: 'C.UTF-8', CANARY: canary.dir },
      build: script([
        // Everywhere a host file could appear: every mount point but the image's own root, and the writable places.
        'places="$(awk \'$5 != "/" {print $5}\' /proc/self/mountinfo | grep -v -e ^/proc -e ^/sys -e ^/dev) /etc /root /home /tmp /run /var /mnt /srv /opt /media"',
        'echo "private-keys=$(grep -rlsE -- "-----BEGIN ([A-Z]+ )?PRIVATE KEY-----" $places | wc -l)"',
        'echo "canary-files=$(grep -rlsF reprod-canary-secret- $places | wc -l)"',
        'echo "env-secrets=$(cat /proc/1/environ /proc/self/environ | tr \'\\0\' \'\\n\' | grep -c -e reprod-canary-secret- -e REPROD_)"',
        'echo "docker-socket=$(ls /var/run/docker.sock /run/docker.sock 2>/dev/null | wc -l)"',
        'echo "unix-sockets=$(find / -xdev -type s 2>/dev/null | wc -l)"',
        'echo "canary-path=$(test -e "$CANARY" && echo visible || echo absent)"',
        'echo "host-mounts=$(grep -c -e "$CANARY" -e docker.sock /proc/self/mountinfo)"',
      ]),
      outputs,
    });
    return probe(plan, job(leak ? { readOnlyMounts: [{ source: canary.dir, target: '/mnt/leak' }] } : {}));
  }

  it('a build looking for the signing key, tokens, env secrets, the Docker socket and host paths finds nothing', async () => {
    assert.deepEqual(await secretSearch(false), { 'private-keys': '0', 'canary-files': '0', 'env-secrets': '0', 'docker-socket': '0', 'unix-sockets': '0', 'canary-path': 'absent', 'host-mounts': '0' });
  });

  it('control: the same search does find the key and the secret when the folder holding them is mounted', async () => {
    const found = await secretSearch(true);
    assert.ok(Number(found['private-keys']) >= 1, JSON.stringify(found));
    assert.ok(Number(found['canary-files']) >= 1, JSON.stringify(found));
    assert.equal(found['host-mounts'], '1');
  });

  it('a setuid-root binary in the builder image does not raise privileges (no-new-privileges)', async () => {
    const result = await probe(
      await testPlan({
        image: { ref: 'hostile-suid', digest: suidImage },
        user: '1000:1000',
        build: script([
          'echo "ls=$(stat -c %A /usr/local/bin/suid-id)"',
          'echo "euid=$(/usr/local/bin/suid-id -u)"',
          'echo "su=$(su -c id root </dev/null >/dev/null 2>&1 && echo root || echo refused)"',
          'echo "caps=$(grep CapEff /proc/self/status | cut -f2)"',
          'echo "bounding=$(grep CapBnd /proc/self/status | cut -f2)"',
          'echo "nnp=$(grep NoNewPrivs /proc/self/status | cut -f2)"',
        ]),
        outputs,
      }),
    );
    assert.deepEqual(result, { ls: '-rwsr-xr-x', euid: '1000', su: 'refused', caps: '0000000000000000', bounding: '0000000000000000', nnp: '1' });
  });

  it('device access: no host disks, mknod and mount refused, only the standard device nodes', async () => {
    const result = await probe(
      await testPlan({
        build: script([
          'echo "mknod=$(mknod /tmp/disk b 8 0 && echo made || echo refused)"',
          'echo "mount=$(mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && echo mounted || echo refused)"',
          'echo "disks=$(ls /dev/sd* /dev/vd* /dev/nvme* /dev/xvd* /dev/mem /dev/kmem /dev/port 2>/dev/null | wc -l)"',
          'echo "block-devices=$(find /dev -type b | wc -l)"',
          'echo "chars=$(find /dev -type c | sort | tr \'\\n\' \' \')"',
        ]),
        outputs,
      }),
    );
    assert.equal(result.mknod, 'refused');
    assert.equal(result.mount, 'refused');
    assert.equal(result.disks, '0');
    assert.equal(result['block-devices'], '0');
    const allowed = new Set(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/console', '/dev/ptmx', '/dev/pts/ptmx']);
    for (const c of result.chars!.trim().split(' ')) assert.ok(allowed.has(c), `unexpected device ${c}`);
  });
});

describe('hostile builds through the daemon (real pipeline, signed attestations)', () => {
  it('each ends as an error verdict with its code, signed FAILED; the probes reproduce; the daemon keeps serving', { timeout: 300_000 }, async () => {
    const dir = join(root, 'daemon');
    const project = join(root, 'project');
    await mkdir(project, { recursive: true });
    await writeFile(join(project, 'README'), 'hostile builds\n');
    const repo = await makeGitRepo(project, join(dir, 'repo'));
    const upstream = await generateKeyFiles(join(dir, 'keys', 'upstream'));
    const reprod = await generateKeyFiles(join(dir, 'keys', 'reprod'));
    const dataDir = join(dir, 'data');
    await writeFile(
      join(dir, 'reprod.yaml'),
      JSON.stringify({
        dataDir,
        docker: { fetchNetwork: 'none' },
        limits: { timeoutSeconds: 10, memoryMb: 96, pids: 64, logBytes: 262144, scratchBytes: 33554432, outputBytes: 1048576 },
        trust: { keys: [{ id: 'upstream', path: upstream.publicPath }], allowFileSources: true },
        signing: { key: reprod.privatePath },
        // The API token comes from REPROD_API_TOKEN (the canary secret, set above): builds must never see it.
        daemon: { concurrency: 2, claimPollMs: 100, maxAttempts: 1, feeds: [], api: { port: 0 } },
      }),
    );
    const image = await builderImageId();
    const cases: { name: string; cmd: string; expect: { outcome: string; code?: string }; output?: string }[] = [
      { name: 'fork-bomb', cmd: 'b() { b | b & }; b; sleep 20', expect: { outcome: 'error', code: 'BUILD_TIMEOUT|BUILD_FAILED' } },
      { name: 'endless', cmd: 'sleep 1000', expect: { outcome: 'error', code: 'BUILD_TIMEOUT' } },
      { name: 'log-flood', cmd: 'yes flood >&2', expect: { outcome: 'error', code: 'BUILD_LOG_LIMIT' } },
      { name: 'disk-fill', cmd: 'head -c 1000000000 /dev/zero > fill', expect: { outcome: 'error', code: 'BUILD_SCRATCH_LIMIT' } },
      { name: 'memory-hog', cmd: 'python3 -c "b = bytearray(1 << 30)"', expect: { outcome: 'error', code: 'BUILD_OOM|BUILD_FAILED' } },
      {
        name: 'network-probe',
        cmd: `(getent hosts ${mirror?.host ?? 'deb.invalid'} >/dev/null && echo dns) ; (timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port}' && echo tcp) ; echo done`,
        output: 'done\n',
        expect: { outcome: 'reproduced' },
      },
    ];
    const ws2 = new Workspace(dir, [dataDir]);
    await ws2.snapshot();
    const before = connections;
    const daemon = await Daemon.start({ loaded: loadConfig(join(dir, 'reprod.yaml')), logger: silentLogger });
    try {
      const ids: string[] = [];
      for (const c of cases) {
        const bytes = await signedContainerAttestation(upstream.privatePath, {
          repo: repo.url,
          commit: repo.commit,
          image,
          command: ['bash', '-c', `(${c.cmd}) > out.txt`],
          outputs: { [c.name]: 'out.txt' },
          digests: { [c.name]: sha256(c.output ?? c.name) },
        });
        const res = await fetch(`${daemon.url}/v1/attestations`, { method: 'POST', body: bytes, headers: { authorization: `Bearer ${canary.secret}` } });
        assert.equal(res.status, 201);
        ids.push(((await res.json()) as { jobs: Job[] }).jobs[0]!.id);
      }
      const jobs = await waitFor('the hostile jobs to end', async () => {
        assert.equal((await fetch(`${daemon.url}/healthz`)).status, 200, 'the daemon stopped answering');
        const all = await Promise.all(ids.map(async (id) => ((await (await fetch(`${daemon.url}/v1/jobs/${id}`)).json()) as { job: Job }).job));
        return all.every((j) => j.state === 'done' || j.state === 'error') ? all : undefined;
      }, 280_000);
      for (const [i, c] of cases.entries()) {
        const j = jobs[i]!;
        const error = (j.result as { error?: { code: string; message: string } } | undefined)?.error ?? j.error;
        assert.equal(j.outcome, c.expect.outcome, `${c.name}: ${j.outcome} ${error?.code} ${error?.message}`);
        if (c.expect.code) assert.match(error?.code ?? '', new RegExp(`^(${c.expect.code})$`), `${c.name}: ${error?.message}`);
      }
      assert.equal((await fetch(`${daemon.url}/healthz`)).status, 200);
      assert.equal(connections - before, 0, 'a build reached the host');
      // Signed verdicts: FAILED for every hostile build, PASSED only for the probe that found the network closed.
      const signed = await signedStatements(join(dataDir, 'out'));
      for (const [i, c] of cases.entries()) {
        const vsa = signed.find((s) => s.result !== undefined && s.subjects.includes(sha256(c.output ?? c.name)));
        assert.equal(vsa?.result, c.expect.outcome === 'reproduced' ? 'PASSED' : 'FAILED', `${c.name} (job ${jobs[i]!.id})`);
      }
    } finally {
      await daemon.stop();
    }
    await canary.assertUntouched();
    await ws2.assertNothingWrittenOutside();
  });
});

describe('after the hostile builds', () => {
  it('nothing was written outside the job folders; the canary and host files are untouched', async () => {
    await canary.assertUntouched();
    await ws.assertNothingWrittenOutside();
    // The job folders hold only what the executor writes.
    const sizes = await Promise.all([...Array(n).keys()].map((i) => stat(join(root, 'jobs', `hostile-build-${process.pid}-${i + 1}`, 'build.log')).then((s) => s.size, () => 0)));
    assert.ok(Math.max(...sizes) <= 1024 * 1024 + 4096, `a build log is ${Math.max(...sizes)} bytes`);
  });
});
