/**
 * Prometheus text exposition (format 0.0.4) of the daemon's state: jobs by state,
 * queue depth, verdict counts, build durations (histogram). Counters live in the
 * process; state counts come from the store at scrape time.
 */
import type { JobState } from '../store/types.ts';

/** Build-duration buckets in seconds: builds take from seconds to an hour. */
export const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];

export class Metrics {
  readonly #verdicts = new Map<string, number>();
  readonly #retries = new Map<string, number>();
  readonly #buckets = new Array<number>(DURATION_BUCKETS.length).fill(0);
  #durationCount = 0;
  #durationSum = 0;
  readonly #feedErrors = new Map<string, number>();

  verdict(outcome: string): void {
    this.#verdicts.set(outcome, (this.#verdicts.get(outcome) ?? 0) + 1);
  }

  retry(code: string): void {
    this.#retries.set(code, (this.#retries.get(code) ?? 0) + 1);
  }

  feedError(feed: string): void {
    this.#feedErrors.set(feed, (this.#feedErrors.get(feed) ?? 0) + 1);
  }

  buildDuration(seconds: number): void {
    this.#durationCount++;
    this.#durationSum += seconds;
    DURATION_BUCKETS.forEach((le, i) => {
      if (seconds <= le) this.#buckets[i]!++;
    });
  }

  render(states: Record<JobState, number>, running: number): string {
    const out: string[] = [];
    const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    out.push('# HELP reprod_jobs Jobs in the store by state.', '# TYPE reprod_jobs gauge');
    for (const [state, n] of Object.entries(states)) out.push(`reprod_jobs{state="${state}"} ${n}`);
    out.push('# HELP reprod_queue_depth Jobs waiting to be claimed.', '# TYPE reprod_queue_depth gauge', `reprod_queue_depth ${states.queued}`);
    out.push('# HELP reprod_builds_running Jobs this process is running.', '# TYPE reprod_builds_running gauge', `reprod_builds_running ${running}`);
    out.push('# HELP reprod_verdicts_total Verdicts published by this process.', '# TYPE reprod_verdicts_total counter');
    for (const outcome of ['reproduced', 'not-reproduced', 'error']) out.push(`reprod_verdicts_total{outcome="${outcome}"} ${this.#verdicts.get(outcome) ?? 0}`);
    out.push('# HELP reprod_retries_total Attempts retried after an infrastructure error.', '# TYPE reprod_retries_total counter');
    for (const [code, n] of this.#retries) out.push(`reprod_retries_total{code="${esc(code)}"} ${n}`);
    out.push('# HELP reprod_feed_errors_total Feed polls that failed.', '# TYPE reprod_feed_errors_total counter');
    for (const [feed, n] of this.#feedErrors) out.push(`reprod_feed_errors_total{feed="${esc(feed)}"} ${n}`);
    out.push('# HELP reprod_build_duration_seconds Wall-clock time of a job attempt.', '# TYPE reprod_build_duration_seconds histogram');
    DURATION_BUCKETS.forEach((le, i) => out.push(`reprod_build_duration_seconds_bucket{le="${le}"} ${this.#buckets[i]}`));
    out.push(`reprod_build_duration_seconds_bucket{le="+Inf"} ${this.#durationCount}`);
    out.push(`reprod_build_duration_seconds_sum ${this.#durationSum}`, `reprod_build_duration_seconds_count ${this.#durationCount}`);
    return `${out.join('\n')}\n`;
  }
}
