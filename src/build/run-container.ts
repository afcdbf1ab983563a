/**
 * Runs one container to its end: output streamed into the job log, a wall-clock
 * limit and an AbortSignal that both kill it. The caller removes the container
 * (after copying outputs out of it).
 */
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { ContainerCreateOptions } from 'dockerode';
import type { BuildLog } from './build-log.ts';

export interface RunOptions {
  timeoutMs: number;
  log: BuildLog;
  signal?: AbortSignal;
  /** Called with the container as soon as it exists, so the caller can always remove it. */
  onCreated: (container: Docker.Container) => void;
}

export interface RunResult {
  exitCode: number;
  oomKilled: boolean;
  timedOut: boolean;
  aborted: boolean;
}

export async function runContainer(docker: Docker, spec: ContainerCreateOptions, opts: RunOptions): Promise<RunResult> {
  const container = await docker.createContainer(spec);
  opts.onCreated(container);
  const stream = (await container.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => opts.log.write(c));
  // stdout and stderr go to the same log, in arrival order.
  docker.modem.demuxStream(stream, sink, sink);
  const ended = new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
  });

  let timedOut = false;
  let aborted = false;
  const kill = () => container.kill().catch(() => undefined); // may already have exited
  const timer = setTimeout(() => {
    timedOut = true;
    void kill();
  }, opts.timeoutMs);
  const onAbort = () => {
    aborted = true;
    void kill();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (opts.signal?.aborted) onAbort();
    else await container.start();
    await container.wait();
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
  // The attach stream ends shortly after the process; don't wait forever for it.
  await Promise.race([ended, new Promise((r) => setTimeout(r, 2000).unref())]);
  const info = await container.inspect();
  return { exitCode: info.State.ExitCode, oomKilled: info.State.OOMKilled, timedOut, aborted };
}
