/**
 * The log of one job: every phase's output appended to `jobDir/build.log`, capped at
 * plan.limits.logBytes (a note marks the cut), mirrored line by line to the job
 * logger, and with a small in-memory tail for error messages.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Logger } from '../log/logger.ts';

export const TAIL_BYTES = 8 * 1024;

export class BuildLog {
  readonly path: string;
  readonly #cap: number;
  readonly #file: WriteStream;
  readonly #hash = createHash('sha256');
  readonly #logger: Logger | undefined;
  #written = 0;
  #truncated = false;
  #tail = '';
  #partial = '';
  #phase = 'prepare';
  #closed = false;
  #error: Error | undefined;
  #onLimit: (() => void) | undefined;

  constructor(path: string, capBytes: number, logger?: Logger) {
    this.path = path;
    this.#cap = capBytes;
    this.#file = createWriteStream(path, { flags: 'w', mode: 0o644 });
    // A full disk must fail the job (at close), not crash the process.
    this.#file.on('error', (e) => (this.#error ??= e));
    this.#logger = logger;
  }

  get truncated(): boolean {
    return this.#truncated;
  }

  /**
   * Called once when the log passes its cap (at once if it already has): the
   * executor stops the build then, so a build printing gigabytes ends as
   * BUILD_LOG_LIMIT instead of burning CPU until its timeout.
   */
  onLimit(fn: (() => void) | undefined): void {
    this.#onLimit = fn;
    if (fn && this.#truncated) fn();
  }

  /** Marks the start of a phase in the log. */
  phase(name: string): void {
    this.#flushLine();
    this.#phase = name;
    this.write(Buffer.from(`=== reprod: ${name}\n`));
  }

  write(chunk: Buffer): void {
    // A container's output stream may trail its exit; the log is final once closed.
    if (this.#closed) return;
    const text = chunk.toString('utf8');
    this.#tail = (this.#tail + text).slice(-TAIL_BYTES);
    this.#mirror(text);
    if (this.#truncated) return;
    const room = this.#cap - this.#written;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, Math.max(0, room));
    this.#put(part);
    if (part.length < chunk.length) {
      this.#truncated = true;
      this.#put(Buffer.from(`\n=== reprod: log truncated at ${this.#cap} bytes (limits.logBytes)\n`));
      this.#onLimit?.();
    }
  }

  /** The last lines of output, for error messages. */
  tail(lines = 20): string {
    return this.#tail.split('\n').filter((l) => !l.startsWith('__reprod_')).slice(-lines - 1).join('\n').trimEnd();
  }

  /** The tail with reprod's own markers, for finding which step failed. */
  rawTail(): string {
    return this.#tail;
  }

  async close(): Promise<string> {
    if (this.#closed) throw new Error('build log closed twice');
    this.#flushLine();
    this.#closed = true;
    await new Promise<void>((resolve, reject) => this.#file.end((e?: Error | null) => (e ? reject(e) : resolve())));
    if (this.#error) throw this.#error;
    return this.#hash.digest('hex');
  }

  #put(buf: Buffer): void {
    if (buf.length === 0) return;
    this.#written += buf.length;
    this.#hash.update(buf);
    this.#file.write(buf);
  }

  #mirror(text: string): void {
    if (!this.#logger) return;
    const lines = (this.#partial + text).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.#logger.debug({ phase: this.#phase }, line);
  }

  #flushLine(): void {
    if (this.#partial && this.#logger) this.#logger.debug({ phase: this.#phase }, this.#partial);
    this.#partial = '';
  }
}
