/**
 * Runs one container to its end: output streamed into the job log, a wall-clock
 * limit and an AbortSignal that both kill it. The caller removes the container
 * (after copying outputs out of it).
 */
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { ContainerCreateOptions } from 'dockerode';
import type { BuildLog } from './build-log.ts';

/** A cap on the disk a container writes: its own file system plus the job volume. */
export interface DiskCap {
  limitBytes: number;
  volume: string;
  /** How often usage is measured while the container runs. */
  intervalMs: number;
}

export interface RunOptions {
  timeoutMs: number;
  /** Killed when its disk use passes the cap; measured once more when it ends. */
  disk?: DiskCap;
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
  /** Killed because its output passed the log cap (limits.logBytes). */
  logLimit: boolean;
  /** Wrote more than the disk cap (killed when seen while running). */
  scratchLimit: boolean;
  /** The most disk use measured, in bytes (with a disk cap). */
  diskBytes?: number;
}

interface DiskUsage {
  Volumes?: { Name: string; UsageData?: { Size: number } | null }[] | null;
  Containers?: { Id: string; SizeRw?: number }[] | null;
}

/** The engine answers one disk-usage query at a time; jobs of this process share it. */
const dfInFlight = new WeakMap<Docker, { startedAt: number; result: Promise<DiskUsage> }>();

/** `/system/df`, joining a query already running if it started at or after `since` (ms). */
function systemDf(docker: Docker, since: number): Promise<DiskUsage> {
  const running = dfInFlight.get(docker);
  if (running && running.startedAt >= since) return running.result;
  const startedAt = Date.now();
  const result = (async () => {
    // Wait out an older query: the engine refuses a second one while it runs.
    if (running) await running.result.catch(() => undefined);
    return (await docker.df()) as DiskUsage;
  })();
  const entry = { startedAt, result };
  dfInFlight.set(docker, entry);
  void result.finally(() => dfInFlight.get(docker) === entry && dfInFlight.delete(docker)).catch(() => undefined);
  return result;
}

/**
 * Bytes a container has written: its writable layer plus the job volume, as the
 * engine counts them (works for a remote engine too; no host paths needed).
 * `since`: only a measurement started at or after this time (ms) will do.
 */
export async function diskUse(docker: Docker, containerId: string, volume: string, since = 0): Promise<number> {
  const df = await systemDf(docker, since);
  const vol = df.Volumes?.find((v) => v.Name === volume)?.UsageData?.Size ?? 0;
  const rw = df.Containers?.find((c) => c.Id === containerId)?.SizeRw ?? 0;
  return Math.max(0, vol) + Math.max(0, rw);
}

/** Attempts of the measurement taken when a container ends (another process may hold the engine's df). */
const FINAL_MEASURE_ATTEMPTS = 20;

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
  let logLimit = false;
  const kill = () => container.kill().catch(() => undefined); // may already have exited
  opts.log.onLimit(() => {
    logLimit = true;
    void kill();
  });
  let scratchLimit = false;
  let diskBytes = 0;
  let measuring = false;
  const measure = async (since = 0): Promise<boolean> => {
    if (!opts.disk || measuring) return false;
    measuring = true;
    try {
      diskBytes = Math.max(diskBytes, await diskUse(docker, container.id, opts.disk.volume, since));
      if (diskBytes > opts.disk.limitBytes && !scratchLimit) {
        scratchLimit = true;
        void kill();
      }
      return true;
    } catch {
      // The engine busy or slow: the next tick measures again.
      return false;
    } finally {
      measuring = false;
    }
  };
  const meter = opts.disk ? setInterval(() => void measure(), opts.disk.intervalMs) : undefined;
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
    clearInterval(meter);
    opts.signal?.removeEventListener('abort', onAbort);
    opts.log.onLimit(undefined);
  }
  if (opts.disk) {
    // What it wrote between the last tick and its end counts too (the stopped container still holds it).
    const exitedAt = Date.now();
    for (let i = 0; i < FINAL_MEASURE_ATTEMPTS; i++) {
      while (measuring) await new Promise((r) => setTimeout(r, 20));
      if (await measure(exitedAt)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    // The file-size limit stops a single file exactly at the cap.
    if (diskBytes >= opts.disk.limitBytes) scratchLimit = true;
  }
  // The attach stream ends shortly after the process; don't wait forever for it.
  await Promise.race([ended, new Promise((r) => setTimeout(r, 2000).unref())]);
  const info = await container.inspect();
  return { exitCode: info.State.ExitCode, oomKilled: info.State.OOMKilled, timedOut, aborted, logLimit, scratchLimit, ...(opts.disk ? { diskBytes } : {}) };
}
