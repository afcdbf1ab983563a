import type { ProgressEvent, Stage } from '../pipeline/progress.ts';

/**
 * Live progress of a rebuild on stderr: one line per stage with its elapsed
 * time, redrawn in place on a terminal; plain lines otherwise (logs, CI).
 */
export class ProgressDisplay {
  readonly #out: NodeJS.WriteStream;
  readonly #tty: boolean;
  #current: { stage: Stage; started: number; message?: string; subject?: string } | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(out: NodeJS.WriteStream = process.stderr) {
    this.#out = out;
    this.#tty = out.isTTY === true;
  }

  readonly handle = (e: ProgressEvent): void => {
    const label = `${e.stage.padEnd(8)}${e.subject ? ` ${e.subject}` : ''}`;
    switch (e.state) {
      case 'start':
        this.#current = { stage: e.stage, started: performance.now(), ...(e.subject ? { subject: e.subject } : {}) };
        if (this.#tty) this.#startTicker();
        else this.#out.write(`… ${label}\n`);
        break;
      case 'info':
        if (this.#current?.stage === e.stage && e.message) this.#current.message = e.message;
        if (!this.#tty && e.message) this.#out.write(`  ${e.stage}: ${e.message}\n`);
        else this.#draw();
        break;
      case 'done':
      case 'failed': {
        this.#stopTicker();
        const mark = e.state === 'done' ? '✔' : '✖';
        const secs = ((e.elapsedMs ?? 0) / 1000).toFixed(1);
        const why = e.state === 'failed' && e.message ? `  ${e.message.split('\n')[0]}` : '';
        this.#out.write(`${this.#tty ? '\r\x1b[K' : ''}${mark} ${label} ${secs}s${why}\n`);
        this.#current = undefined;
        break;
      }
    }
  };

  stop(): void {
    this.#stopTicker();
    if (this.#tty && this.#current) this.#out.write('\n');
  }

  #draw(): void {
    if (!this.#tty || !this.#current) return;
    const c = this.#current;
    const secs = ((performance.now() - c.started) / 1000).toFixed(1);
    const width = (this.#out.columns ?? 80) - 1;
    const line = `⋯ ${c.stage.padEnd(8)}${c.subject ? ` ${c.subject}` : ''} ${secs}s${c.message ? `  ${c.message}` : ''}`;
    this.#out.write(`\r\x1b[K${line.slice(0, width)}`);
  }

  #startTicker(): void {
    this.#stopTicker();
    this.#draw();
    this.#timer = setInterval(() => this.#draw(), 200);
    this.#timer.unref();
  }

  #stopTicker(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
