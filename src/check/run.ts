import type { BuiltOutput } from '../build/types.ts';
import { ReprodError, toReprodError, type ErrorCode } from '../errors.ts';
import type { BuildPlan } from '../plan/types.ts';
import { bisect } from './bisect.ts';
import { scanFile, type Canary, type CanaryHit } from './canary.ts';
import { experimentPlan, setKey, type Experiment } from './experiment.ts';
import type { CheckReport, Finding, OutputDifference, VariationResult } from './report-model.ts';
import { SPECS, unavailable, type HostFacts, type VariationName } from './variations.ts';

/**
 * The check itself: a control build, then every variation at once, then (on a
 * difference) delta debugging down to the minimal sets of variations that
 * reproduce it, and the diff engine on each such pair. Builds and diffs are
 * handed in (runner.ts does them for real), so the logic here is testable
 * on its own and never builds the same configuration twice.
 */
export type BuildOutcome = { ok: true; outputs: BuiltOutput[] } | { ok: false; error: { code: string; message: string } };

export interface DiffHints {
  buildPaths: string[];
  hostnames: string[];
  users: string[];
  canaries: Canary[];
}

/** What the diff engine says about one pair of files, ready to embed. */
export interface DiffSummary {
  report: unknown;
  causes: { cause: string; evidence?: string; fix?: string }[];
  text: string;
  html: string;
}

export interface CheckDeps {
  /** Builds one experiment; `label` names it in progress output. */
  build: (exp: Experiment, label: string) => Promise<BuildOutcome>;
  diff: (control: string, experiment: string, hints: DiffHints) => Promise<DiffSummary>;
}

export interface CheckProgress {
  /** 1-based number of this build. */
  build: number;
  /** Which variations the build applies (empty: the control). */
  variations: string[];
  /** Why this build is made. */
  purpose: 'control' | 'repeat' | 'all-at-once' | 'bisect';
  /** An upper estimate of builds still to come after this one. */
  left: number;
}

export interface CheckOptions {
  control: BuildPlan;
  variations: VariationName[];
  /** Control builds (>= 1); repeats catch nondeterminism no variation explains. */
  runs: number;
  /** Builds at once while bisecting (default 1: fewest builds; 2 trades a few speculative builds for wall time). */
  jobs?: number;
  host: HostFacts;
  source: CheckReport['project']['source'];
  onProgress?: (p: CheckProgress) => void;
}

function differingOutputs(control: BuiltOutput[], exp: BuildOutcome): string[] {
  if (!exp.ok) return control.map((o) => o.name);
  const byName = new Map(exp.outputs.map((o) => [o.name, o.sha256]));
  return control.filter((o) => byName.get(o.name) !== o.sha256).map((o) => o.name);
}

function log2ceil(n: number): number {
  return Math.ceil(Math.log2(Math.max(2, n)));
}

export async function runCheck(opts: CheckOptions, deps: CheckDeps): Promise<CheckReport> {
  const started = performance.now();
  const skipped = opts.variations.map((v) => [v, unavailable(v, opts.host)] as const).filter(([, why]) => why !== undefined);
  const active = opts.variations.filter((v) => !skipped.some(([s]) => s === v));
  const results = new Map<string, { exp: Experiment; outcome: BuildOutcome; differs: string[] }>();
  let builds = 0;

  const build = async (variations: VariationName[], purpose: CheckProgress['purpose'], left: number): Promise<BuildOutcome> => {
    builds += 1;
    const exp = experimentPlan(opts.control, variations);
    opts.onProgress?.({ build: builds, variations: exp.variations, purpose, left });
    return deps.build(exp, variations.length === 0 ? 'control' : setKey(variations));
  };

  const controlBuild = build([], 'control', opts.runs + (active.length > 0 ? 1 + 2 * log2ceil(active.length) : 0));
  // The all-at-once experiment does not depend on the control: both build at the same time.
  const allAtOnce = active.length > 0 ? build(active, 'all-at-once', 2 * log2ceil(active.length) + 1) : undefined;
  // Never leave it running (or its rejection unhandled) when the check ends early.
  const settleAllAtOnce = async () => void (await allAtOnce?.catch(() => undefined));
  const control = await controlBuild.catch(async (e: unknown) => {
    await settleAllAtOnce();
    throw e;
  });
  if (!control.ok) {
    await settleAllAtOnce();
    // The control's own failure code (BUILD_FAILED, OUTPUT_MISSING …) is the answer: no variation is to blame.
    throw new ReprodError(control.error.code as ErrorCode, `the control build failed: ${control.error.message}`, { details: { error: control.error } });
  }
  const report: CheckReport = {
    reprodCheckVersion: 1,
    project: { source: opts.source, build: opts.control.build.map((s) => s.run), outputs: opts.control.outputs.map((o) => o.path), image: opts.control.image },
    reproducible: true,
    builds: 0,
    durationMs: 0,
    control: { outputs: control.outputs.map((o) => ({ name: o.name, sha256: o.sha256 })) },
    variations: [],
    findings: [],
    experiments: [],
  };

  const record = (exp: Experiment, outcome: BuildOutcome, differs: string[]) => {
    results.set(setKey(exp.variations), { exp, outcome, differs });
    report.experiments.push({
      variations: exp.variations,
      differs: differs.length > 0,
      ...(outcome.ok ? { outputs: outcome.outputs.map((o) => ({ name: o.name, sha256: o.sha256 })) } : { error: outcome.error }),
    });
  };

  /** Builds the control again; when it differs, no variation is to blame and the report says so. */
  const controlDrifted = async (left: number, when: 'start' | 'end'): Promise<boolean> => {
    const again = await build([], 'repeat', left);
    const differs = differingOutputs(control.outputs, again);
    if (differs.length === 0) return false;
    report.reproducible = false;
    report.nondeterministic = { differingOutputs: differs, detectedAt: when };
    report.findings = [await explain([], again, control.outputs, differs, builds, deps)];
    report.variations = opts.variations.map((v) => variationResult(v, 'untested', skipped));
    return true;
  };

  // Repeats of the control: a difference here is not the environment's doing.
  for (let i = 1; i < opts.runs; i++) {
    if (await controlDrifted(opts.runs - i + (active.length > 0 ? 1 : 0), 'start')) {
      await settleAllAtOnce();
      return finish(report, builds, started);
    }
  }

  if (active.length === 0) {
    report.variations = opts.variations.map((v) => variationResult(v, 'skipped', skipped));
    return finish(report, builds, started);
  }

  const oracle = async (set: string[]): Promise<boolean> => {
    const variations = set as VariationName[];
    // ddmin halves the set it tests: about two builds per halving are left, plus the stability check.
    const left = set.length === active.length ? 2 * log2ceil(active.length) + 1 : 2 * log2ceil(set.length) + 1;
    const outcome = allAtOnce && setKey(set) === setKey(active) ? await allAtOnce : await build(variations, 'bisect', left);
    const differs = differingOutputs(control.outputs, outcome);
    record(experimentPlan(opts.control, variations), outcome, differs);
    return differs.length > 0;
  };

  const allDiffers = await oracle(active);
  const isolatedAfter = new Map<string, number>();
  const bisected = allDiffers
    ? await bisect(active, true, oracle, { onCulprit: (culprit) => isolatedAfter.set(setKey(culprit), builds), parallel: opts.jobs ?? 1 })
    : { culprits: [], stable: active, builds: 0 };

  report.reproducible = bisected.culprits.length === 0;
  for (const culprit of bisected.culprits) {
    const key = setKey(culprit);
    const r = results.get(key);
    if (!r) throw new ReprodError('INTERNAL', `bisection named ${key} but its build was not recorded`);
    report.findings.push(await explain(culprit as VariationName[], r.outcome, control.outputs, r.differs, isolatedAfter.get(key) ?? builds, deps));
  }
  const breaking = new Set(bisected.culprits.flat());
  report.variations = opts.variations.map((v) =>
    variationResult(v, skipped.some(([s]) => s === v) ? 'skipped' : breaking.has(v) ? 'breaks' : 'stable', skipped),
  );
  // One more control confirms the findings: if the control itself changed meanwhile (the date
  // rolled over, randomness), every experiment differed for that reason and blames nothing.
  if (!report.reproducible) await controlDrifted(0, 'end');
  return finish(report, builds, started);
}

function variationResult(name: VariationName, status: VariationResult['status'], skipped: readonly (readonly [string, string | undefined])[]): VariationResult {
  const spec = SPECS[name];
  const reason = skipped.find(([s]) => s === name)?.[1];
  return {
    name,
    status,
    control: spec.control,
    experiment: spec.experiment,
    ...(spec.canaries ? { canaries: spec.canaries } : {}),
    ...(status === 'skipped' && reason ? { reason } : {}),
  };
}

function finish(report: CheckReport, builds: number, started: number): CheckReport {
  report.builds = builds;
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

/** The canaries of every variation. */
export function allCanaries(): Canary[] {
  return Object.values(SPECS).flatMap((s) => (s.canaries ?? []).map((canary) => ({ variation: s.name, canary })));
}

function hintsFor(): DiffHints {
  return {
    buildPaths: SPECS['build-path'].canaries ?? [],
    hostnames: SPECS.hostname.canaries ?? [],
    users: SPECS.user.canaries ?? [],
    canaries: allCanaries(),
  };
}

async function explain(
  variations: VariationName[],
  outcome: BuildOutcome,
  control: BuiltOutput[],
  differs: string[],
  afterBuilds: number,
  deps: CheckDeps,
): Promise<Finding> {
  const finding: Finding = {
    variations,
    buildsToIsolate: afterBuilds,
    outputs: [],
    causes: variations.map((v) => ({ cause: SPECS[v].cause, fix: SPECS[v].fix, from: 'variation' as const, variation: v })),
  };
  if (!outcome.ok) {
    finding.buildError = outcome.error;
    return finding;
  }
  for (const name of differs) {
    const a = control.find((o) => o.name === name)!;
    const b = outcome.outputs.find((o) => o.name === name);
    const diff: OutputDifference = { name, controlSha256: a.sha256, ...(b ? { experimentSha256: b.sha256 } : {}), canaries: [] };
    if (b) {
      // Only the canaries of the variations that break can be the cause; others would be noise.
      const canaries = allCanaries().filter((c) => variations.includes(c.variation as VariationName));
      diff.canaries = await scanFile(b.path, canaries).catch((): CanaryHit[] => []);
      try {
        diff.diff = await deps.diff(a.path, b.path, hintsFor());
      } catch (e) {
        const err = toReprodError(e, 'DIFF_FAILED');
        diff.diffError = { code: err.code, message: err.message };
      }
    }
    finding.outputs.push(diff);
    for (const c of diff.diff?.causes ?? []) {
      if (c.cause !== 'unknown' && !finding.causes.some((f) => f.cause === c.cause && f.from === 'diff')) {
        finding.causes.push({ cause: c.cause, fix: c.fix ?? '', from: 'diff', ...(c.evidence ? { evidence: c.evidence } : {}) });
      }
    }
  }
  return finding;
}
