/**
 * Daemon test kit: attestations for a tiny "shell" build type, and ContainerRunner,
 * a real JobRunner that builds in a real container (the minimal Debian image) so
 * the daemon's queue, crash and shutdown semantics are tested against Docker
 * without the full rebuild pipeline: the statement's predicate holds a shell
 * command; its stdout is the artifact; the verdict compares its sha256 with the
 * subject's. Containers carry TEST_LABEL=<runner id> so only ours are cleaned up.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';
import { ReprodError } from '../../src/errors.ts';
import type { JobResult, JobRunner, RunContext } from '../../src/daemon/runner.ts';
import type { Job } from '../../src/store/types.ts';

export const TEST_LABEL = 'dev.reprod.daemon-test';
export const SHELL_PREDICATE = 'https://reprod.dev/test/shell/v1';

export const sha256 = (s: string | Uint8Array): string => createHash('sha256').update(s).digest('hex');

/** An (unsigned) DSSE envelope whose statement's subject is the stdout of `command`. */
export function shellAttestation(name: string, command: string, expectedStdout: string): Uint8Array {
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name, digest: { sha256: sha256(expectedStdout) } }],
    predicateType: SHELL_PREDICATE,
    predicate: { command },
  };
  const env = {
    payloadType: 'application/vnd.in-toto+json',
    payload: Buffer.from(JSON.stringify(statement)).toString('base64'),
    signatures: [{ keyid: 'test', sig: Buffer.from('unsigned-test-fixture').toString('base64') }],
  };
  return new TextEncoder().encode(JSON.stringify(env));
}

function commandOf(bytes: Uint8Array): string {
  const env = JSON.parse(new TextDecoder().decode(bytes)) as { payload: string };
  const st = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8')) as { predicate?: { command?: unknown } };
  if (typeof st.predicate?.command !== 'string') throw new ReprodError('UNKNOWN_BUILD_TYPE', 'not a shell test statement');
  return st.predicate.command;
}

export interface ContainerRunnerOptions {
  image: string;
  stagingDir: string;
  /** Label value marking this runner's containers (share it across a restart to find orphans). */
  runId?: string;
  socketPath?: string;
  /** Attempts up to this number talk to a Docker socket that does not exist (a transient infrastructure error). */
  brokenSocketAttempts?: number;
}

export class ContainerRunner implements JobRunner {
  readonly runId: string;
  readonly #o: ContainerRunnerOptions;
  readonly #docker: Docker;
  readonly attempts: { jobId: string; attempt: number }[] = [];

  constructor(o: ContainerRunnerOptions) {
    this.#o = o;
    this.runId = o.runId ?? randomBytes(6).toString('hex');
    this.#docker = new Docker({ socketPath: o.socketPath ?? '/var/run/docker.sock' });
  }

  /** Removes containers a killed predecessor left behind (what removeStaleContainers does for the pipeline). */
  async recover(): Promise<void> {
    for (const c of await this.containers()) await this.#docker.getContainer(c).remove({ force: true }).catch(() => undefined);
  }

  async containers(): Promise<string[]> {
    const list = await this.#docker.listContainers({ all: true, filters: { label: [`${TEST_LABEL}=${this.runId}`] } });
    return list.map((c) => c.Id);
  }

  async run(job: Job, rc: RunContext): Promise<JobResult> {
    this.attempts.push({ jobId: job.id, attempt: rc.attempt });
    const docker = rc.attempt <= (this.#o.brokenSocketAttempts ?? 0) ? new Docker({ socketPath: '/nonexistent/reprod-test/docker.sock' }) : this.#docker;
    const command = commandOf(rc.attestation);
    let container: Docker.Container;
    try {
      container = await docker.createContainer({
        Image: this.#o.image,
        Cmd: ['sh', '-c', command],
        Env: ['TZ=UTC', 'LC_ALL=C.UTF-8', 'SOURCE_DATE_EPOCH=0'],
        Labels: { [TEST_LABEL]: this.runId, 'dev.reprod.job': job.id },
        HostConfig: { NetworkMode: 'none', CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'], PidsLimit: 64, Memory: 128 * 1024 * 1024 },
      });
    } catch (e) {
      throw new ReprodError('DOCKER_UNAVAILABLE', `cannot create the build container: ${(e as Error).message}`, { retryable: true, cause: e });
    }
    // Keep the removal's promise: a second remove() during it answers 409 at once,
    // and the daemon could exit while the container still exists.
    let killing: Promise<unknown> | undefined;
    const kill = (): void => void (killing = container.remove({ force: true }).catch(() => undefined));
    rc.signal.addEventListener('abort', kill, { once: true });
    try {
      await container.start();
      rc.log(`container ${container.id.slice(0, 12)} started`);
      const res = (await container.wait()) as { StatusCode: number };
      if (rc.signal.aborted) throw rc.signal.reason;
      const out = (await container.logs({ stdout: true, stderr: false, follow: false })) as Buffer;
      const stdout = demux(out);
      const staged = join(this.#o.stagingDir, `${job.id}-${rc.attempt}`, job.subject.sha256);
      await rm(staged, { recursive: true, force: true });
      await mkdir(staged, { recursive: true });
      if (res.StatusCode !== 0) {
        const error = { code: 'BUILD_FAILED', message: `command exited ${res.StatusCode}`, retryable: false };
        await writeFile(join(staged, 'verdict.json'), JSON.stringify({ jobId: job.id, outcome: 'error', error }));
        return { outcome: 'error', error, stagedDir: staged };
      }
      const rebuilt = sha256(stdout);
      const outcome = rebuilt === job.subject.sha256 ? 'reproduced' : 'not-reproduced';
      const verdict = { jobId: job.id, attempt: rc.attempt, outcome, subject: job.subject, rebuiltSha256: rebuilt };
      // Stand-ins for the signed statements the pipeline writes (same file names, one set per subject).
      await writeFile(join(staged, 'vsa.sigstore.json'), JSON.stringify({ predicateType: 'https://slsa.dev/verification_summary/v1', jobId: job.id, outcome }));
      await writeFile(join(staged, 'rebuild.sigstore.json'), JSON.stringify({ predicateType: 'https://slsa.dev/provenance/v1', jobId: job.id }));
      if (outcome === 'not-reproduced') {
        await writeFile(join(staged, 'report.json'), JSON.stringify({ subject: job.subject, rebuiltSha256: rebuilt, differences: [{ path: job.subject.name, kind: 'content' }] }));
        await writeFile(join(staged, 'report.html'), `<!doctype html><title>diff report ${job.subject.name}</title><h1>Diff report: ${job.subject.name}</h1><p>expected ${job.subject.sha256}</p><p>rebuilt ${rebuilt}</p>`);
      }
      await writeFile(join(staged, 'verdict.json'), JSON.stringify(verdict));
      return { outcome, stagedDir: staged, details: { verdict, plan: { command }, timings: {} } };
    } finally {
      rc.signal.removeEventListener('abort', kill);
      await killing;
      await container.remove({ force: true }).catch(() => undefined);
    }
  }
}

/** Docker's multiplexed log stream → stdout bytes. */
function demux(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const len = buf.readUInt32BE(i + 4);
    if (buf[i] === 1) parts.push(buf.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** A temp workspace with a daemon config: feed folder `in/`, data under `data/`. */
export async function daemonWorkspace(dir: string, daemon: Record<string, unknown> = {}): Promise<{ configPath: string; feedDir: string; dataDir: string }> {
  const feedDir = join(dir, 'in');
  const dataDir = join(dir, 'data');
  await mkdir(feedDir, { recursive: true });
  const config = {
    dataDir,
    daemon: {
      claimPollMs: 100,
      leaseSeconds: 30,
      heartbeatSeconds: 1,
      retryBaseSeconds: 0.2,
      retryMaxSeconds: 1,
      shutdownGraceSeconds: 5,
      feeds: [{ type: 'directory', name: 'drop', path: feedDir, intervalSeconds: 0.2 }],
      api: { port: 0, token: 'test-token-0123456789abcdef' },
      ...daemon,
    },
  };
  const configPath = join(dir, 'reprod.yaml');
  // YAML is a superset of JSON.
  await writeFile(configPath, JSON.stringify(config, null, 2));
  return { configPath, feedDir, dataDir };
}

export const TEST_TOKEN = 'test-token-0123456789abcdef';

/** Writes a file into a feed folder the way producers should: temp name, then rename. */
export async function dropFile(feedDir: string, name: string, bytes: Uint8Array): Promise<void> {
  const { rename } = await import('node:fs/promises');
  const tmp = join(feedDir, `.${name}.tmp`);
  await writeFile(tmp, bytes);
  await rename(tmp, join(feedDir, name));
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
