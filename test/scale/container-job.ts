/**
 * A small real container build for the scale bench: a container from the given
 * image runs a deterministic command with the network off, and its output is
 * hashed. Containers carry SCALE_LABEL so only ours are ever cleaned up.
 */
import { createHash } from 'node:crypto';
import Docker from 'dockerode';

export const SCALE_LABEL = 'dev.reprod.scale-test';
let docker: Docker | undefined;

export async function runContainerJob(image: string, jobId: string, signal: AbortSignal): Promise<string> {
  docker ??= new Docker({ socketPath: process.env.DOCKER_SOCKET ?? '/var/run/docker.sock' });
  const container = await docker.createContainer({
    Image: image,
    Cmd: ['sh', '-c', 'mkdir -p /tmp/b && cd /tmp/b && printf "%s\\n" "$JOB" > in.txt && tar --mtime=@0 --owner=0 --group=0 -cf - in.txt | sha256sum'],
    Env: [`JOB=${jobId}`, 'SOURCE_DATE_EPOCH=0', 'TZ=UTC'],
    Labels: { [SCALE_LABEL]: jobId },
    HostConfig: { NetworkMode: 'none', CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'], AutoRemove: false },
  });
  const kill = (): void => void container.remove({ force: true }).catch(() => {});
  signal.addEventListener('abort', kill, { once: true });
  try {
    await container.start();
    const res = (await container.wait()) as { StatusCode: number };
    if (res.StatusCode !== 0) throw new Error(`container exited ${res.StatusCode}`);
    const logs = await container.logs({ stdout: true, stderr: false });
    const digest = createHash('sha256').update(logs).digest('hex');
    return digest.length === 64 ? 'reproduced' : 'error';
  } finally {
    signal.removeEventListener('abort', kill);
    await container.remove({ force: true }).catch(() => {});
  }
}
