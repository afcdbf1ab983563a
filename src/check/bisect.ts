import { setKey } from './experiment.ts';

/**
 * Delta debugging over variations (Zeller's ddmin): find a minimal set of
 * variations whose experiment still differs from the control, with few builds.
 * Every result is cached by set, so no configuration is ever built twice.
 * Then the culprit is taken out and the rest is tested together again, so
 * every variation ends up either in a culprit set (`breaks`) or in a set that
 * built identically (`stable`). Pure apart from the oracle it is handed.
 */

/** Builds the experiment with these variations; true when its outputs differ from the control. */
export type Oracle = (set: string[]) => Promise<boolean>;

export interface BisectResult {
  /** Minimal sets of variations that each reproduce a difference. */
  culprits: string[][];
  /** Variations that were applied together, after removing the culprits, with identical outputs. */
  stable: string[];
  /** Distinct experiments built. */
  builds: number;
}

export class CachedOracle {
  readonly #oracle: Oracle;
  readonly #seen = new Map<string, Promise<boolean>>();
  /** How many configurations ddmin may build at once (speculatively: some results go unused). */
  readonly parallel: number;

  constructor(oracle: Oracle, known: Iterable<[string[], boolean]> = [], parallel = 1) {
    this.#oracle = oracle;
    this.parallel = parallel;
    for (const [set, differs] of known) this.#seen.set(setKey(set), Promise.resolve(differs));
  }

  get builds(): number {
    return this.#seen.size;
  }

  test(set: string[]): Promise<boolean> {
    const key = setKey(set);
    let result = this.#seen.get(key);
    if (!result) {
      result = this.#oracle([...set].sort());
      this.#seen.set(key, result);
    }
    return result;
  }

  /** Waits for every build started, speculative ones included, so none outlives the check. */
  async drain(): Promise<void> {
    await Promise.allSettled(this.#seen.values());
  }

  /** Starts building these sets now; their results are awaited (or not) later through test(). */
  prefetch(sets: string[][]): void {
    // A failure is reported to whoever awaits test() for that set; never as an unhandled rejection.
    for (const set of sets.slice(0, this.parallel)) this.test(set).catch(() => undefined);
  }
}

function chunks<T>(items: T[], n: number): T[][] {
  const out: T[][] = [];
  const size = Math.ceil(items.length / n);
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** ddmin: `failing` is known to differ; returns a 1-minimal subset that still differs. */
export async function ddmin(failing: string[], oracle: CachedOracle): Promise<string[]> {
  let current = failing;
  let n = 2;
  while (current.length >= 2) {
    const parts = chunks(current, n);
    let reduced = false;
    if (oracle.parallel > 1) oracle.prefetch(parts);
    for (const part of parts) {
      if (await oracle.test(part)) {
        current = part;
        n = 2;
        reduced = true;
        break;
      }
    }
    if (!reduced && parts.length > 2) {
      for (const part of parts) {
        const complement = current.filter((x) => !part.includes(x));
        if (await oracle.test(complement)) {
          current = complement;
          n = Math.max(n - 1, 2);
          reduced = true;
          break;
        }
      }
    }
    if (!reduced) {
      if (n >= current.length) break;
      n = Math.min(current.length, n * 2);
    }
  }
  return current;
}

/**
 * Finds every independent culprit set among `all`. `allDiffers` is the result
 * of the all-at-once experiment the caller already built.
 */
export async function bisect(
  all: string[],
  allDiffers: boolean,
  oracle: Oracle,
  opts: { onCulprit?: (culprit: string[]) => void; parallel?: number } = {},
): Promise<BisectResult> {
  const cached = new CachedOracle(oracle, [[all, allDiffers]], opts.parallel ?? 1);
  const culprits: string[][] = [];
  let remaining = [...all];
  let stable: string[] = [];
  try {
    while (remaining.length > 0) {
      if (!(await cached.test(remaining))) {
        stable = remaining;
        break;
      }
      const culprit = await ddmin(remaining, cached);
      culprits.push([...culprit].sort());
      opts.onCulprit?.([...culprit].sort());
      remaining = remaining.filter((v) => !culprit.includes(v));
    }
  } finally {
    await cached.drain();
  }
  // The all-at-once build was the caller's; count only the ones made here.
  return { culprits, stable, builds: cached.builds - 1 };
}
