/**
 * The polling loop shared by feeds that ask a remote index on an interval (http,
 * debian-packages): one poll at a time, the interval after a success, exponential
 * backoff after failures, and a stop that waits for the poll in flight.
 * A subclass implements `pollOnce` and checks `signal` between steps.
 */
import { retryDelayMs } from '../backoff.ts';
import type { Feed, FeedDeps } from './types.ts';

export interface PollingTiming {
  name: string;
  intervalMs: number;
  maxBackoffMs: number;
}

export abstract class PollingFeed implements Feed {
  readonly name: string;
  protected readonly deps: FeedDeps;
  readonly #timing: PollingTiming;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #failures = 0;

  constructor(timing: PollingTiming, deps: FeedDeps) {
    this.name = timing.name;
    this.#timing = timing;
    this.deps = deps;
  }

  /** One pass over the index; throws when the pass failed. */
  protected abstract pollOnce(): Promise<void>;

  /** What a failed poll is reported as (`onError`'s `what`). */
  protected get pollLabel(): string {
    return 'poll';
  }

  /** Aborted by `stop()`. */
  protected get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Wait before the next poll: the interval, or the backoff after failures. */
  get nextDelayMs(): number {
    const { intervalMs, maxBackoffMs } = this.#timing;
    return this.#failures === 0 ? intervalMs : Math.max(intervalMs, retryDelayMs(this.#failures + 1, intervalMs, maxBackoffMs));
  }

  start(): void {
    const tick = (): void => {
      if (this.#abort.signal.aborted) return;
      void this.poll().finally(() => {
        if (!this.#abort.signal.aborted) this.#timer = setTimeout(tick, this.nextDelayMs);
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    clearTimeout(this.#timer);
    await this.#polling;
  }

  poll(): Promise<void> {
    this.#polling ??= this.pollOnce()
      .then(() => {
        this.#failures = 0;
      })
      .catch((e: unknown) => {
        if (this.#abort.signal.aborted) return;
        this.#failures++;
        this.deps.onError(this.name, this.pollLabel, e);
      })
      .finally(() => {
        this.#polling = undefined;
      });
    return this.#polling;
  }
}
