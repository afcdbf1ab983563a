/**
 * The Docker engine edge of reprod.
 *
 * API (others code against these names):
 * - `connectDocker(socket?)`: a dockerode client that has answered a ping; throws
 *   DOCKER_UNAVAILABLE (retryable) when no engine answers at the socket.
 * - `removeStaleContainers(docker, opts?)`: removes containers and volumes labelled
 *   CONTAINER_LABEL whose creating process is gone (a crashed daemon or test); the
 *   daemon calls it at start-up. Live jobs of other processes are left alone.
 * - `ownerLabels(jobId)`: the labels every container/volume of a job carries.
 */
import { hostname } from 'node:os';
import Docker from 'dockerode';
import { CONTAINER_LABEL, DEFAULT_DOCKER_SOCKET } from '../config/defaults.ts';
import { ReprodError } from '../errors.ts';

/** Who created a container: `<hostname>/<pid>`, so stale ones can be told from live ones. */
export const OWNER_LABEL = 'dev.reprod.owner';
/** Containers with no live owner we can check are stale after this long (longer than any build). */
export const STALE_AFTER_SECONDS = 3 * 3600;
const PING_TIMEOUT_MS = 5000;

export async function connectDocker(socket: string = process.env.REPROD_DOCKER_SOCKET ?? DEFAULT_DOCKER_SOCKET): Promise<Docker> {
  const docker = new Docker({ socketPath: socket, timeout: 0 });
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS).unref()),
    ]);
  } catch (e) {
    throw new ReprodError('DOCKER_UNAVAILABLE', `no Docker engine answers at ${socket}: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
      retryable: true,
      details: { socket },
    });
  }
  return docker;
}

export function ownerId(): string {
  return `${hostname()}/${process.pid}`;
}

export function ownerLabels(jobId: string): Record<string, string> {
  return { [CONTAINER_LABEL]: jobId, [OWNER_LABEL]: ownerId() };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Is a labelled object stale? Its owner process on this host is gone, or it is very old. */
export function isStale(labels: Record<string, string> | undefined, createdUnixSeconds: number, now = Date.now() / 1000): boolean {
  const owner = labels?.[OWNER_LABEL];
  const [host, pidText] = owner?.split('/') ?? [];
  if (owner && host === hostname() && pidText && /^\d+$/.test(pidText)) {
    const pid = Number(pidText);
    if (pid === process.pid) return false;
    return !pidAlive(pid);
  }
  return now - createdUnixSeconds > STALE_AFTER_SECONDS;
}

export interface StaleRemoval {
  containers: number;
  volumes: number;
}

export async function removeStaleContainers(docker: Docker, opts: { all?: boolean } = {}): Promise<StaleRemoval> {
  const removed: StaleRemoval = { containers: 0, volumes: 0 };
  const containers = await docker.listContainers({ all: true, filters: { label: [CONTAINER_LABEL] } });
  for (const c of containers) {
    if (!opts.all && !isStale(c.Labels, c.Created)) continue;
    await docker.getContainer(c.Id).remove({ force: true, v: true }).then(
      () => removed.containers++,
      () => undefined, // already gone (another process cleaned it)
    );
  }
  const { Volumes } = await docker.listVolumes({ filters: { label: [CONTAINER_LABEL] } });
  for (const v of Volumes ?? []) {
    const created = Date.parse((v as { CreatedAt?: string }).CreatedAt ?? '') / 1000 || 0;
    if (!opts.all && !isStale(v.Labels ?? undefined, created)) continue;
    await docker.getVolume(v.Name).remove().then(
      () => removed.volumes++,
      () => undefined, // in use by a live container or already gone
    );
  }
  return removed;
}
