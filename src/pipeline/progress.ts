/** The stages a rebuild reports, in order (the CLI shows one line each). */
export const STAGES = ['verify', 'fetch', 'build', 'compare', 'sign'] as const;
export type Stage = (typeof STAGES)[number];

export interface ProgressEvent {
  stage: Stage;
  state: 'start' | 'done' | 'failed' | 'info';
  message?: string;
  /** Time since the stage started, on done/failed. */
  elapsedMs?: number;
  /** The subject or statement the event is about, when there are several. */
  subject?: string;
}

export type OnProgress = (event: ProgressEvent) => void;

/** Runs stages, reporting start/done/failed with their elapsed time, and keeps the timings. */
export class StageClock {
  readonly timings: Partial<Record<Stage, number>> = {};
  readonly #onProgress: OnProgress | undefined;

  constructor(onProgress?: OnProgress) {
    this.#onProgress = onProgress;
  }

  info(stage: Stage, message: string, subject?: string): void {
    this.#onProgress?.({ stage, state: 'info', message, ...(subject ? { subject } : {}) });
  }

  async run<T>(stage: Stage, fn: () => Promise<T>, subject?: string): Promise<T> {
    const start = performance.now();
    const tag = subject ? { subject } : {};
    this.#onProgress?.({ stage, state: 'start', ...tag });
    try {
      const value = await fn();
      const elapsedMs = Math.round(performance.now() - start);
      this.timings[stage] = (this.timings[stage] ?? 0) + elapsedMs;
      this.#onProgress?.({ stage, state: 'done', elapsedMs, ...tag });
      return value;
    } catch (e) {
      const elapsedMs = Math.round(performance.now() - start);
      this.timings[stage] = (this.timings[stage] ?? 0) + elapsedMs;
      this.#onProgress?.({ stage, state: 'failed', elapsedMs, message: (e as Error).message, ...tag });
      throw e;
    }
  }
}
