import type { BuildPlan } from '../plan/types.ts';
import { SPECS, type AssetName, type Draft, type VariationName } from './variations.ts';

/**
 * Turns a control plan and a set of variations into the plan of one
 * experiment. Pure: the same inputs give the same plan, so every build of a
 * check can be printed and re-run. Every build, the control included, runs
 * its steps through the same `sh -c` wrapper, so the wrapper itself is never
 * the difference.
 */
export interface Experiment {
  /** Sorted, so equal sets have equal keys. */
  variations: VariationName[];
  plan: BuildPlan;
  /** Host assets the container needs mounted read-only (see assets.ts). */
  assets: AssetName[];
}

export function setKey(set: readonly string[]): string {
  return [...set].sort().join(',') || '(none)';
}

function draftOf(plan: BuildPlan): Draft {
  return {
    workdir: plan.workdir,
    hostname: plan.hostname,
    domainname: plan.domainname,
    user: plan.user,
    env: Object.entries(plan.env),
    prelude: ['umask 022'],
    wrappers: [],
    preload: [],
    cpus: undefined,
  };
}

/** The shell line that applies the prelude and execs the real argv ("$@") through the wrappers. */
export function wrapperScript(d: Pick<Draft, 'prelude' | 'wrappers'>): string {
  const exec = ['exec', ...d.wrappers.flat(), '"$@"'].join(' ');
  return [...d.prelude, exec].join('; ');
}

export function experimentPlan(control: BuildPlan, variations: readonly VariationName[]): Experiment {
  const sorted = [...new Set(variations)].sort() as VariationName[];
  const d = draftOf(control);
  // Apply in catalogue order, not argument order: the result must not depend on how the set was spelt.
  for (const name of Object.keys(SPECS) as VariationName[]) if (sorted.includes(name)) SPECS[name].apply(d);
  if (d.preload.length > 0) d.env.push(['LD_PRELOAD', d.preload.join(':')]);
  const script = wrapperScript(d);
  const plan: BuildPlan = {
    ...control,
    workdir: d.workdir,
    hostname: d.hostname,
    env: Object.fromEntries(d.env),
    build: control.build.map((step) => ({ name: step.name, run: ['sh', '-c', script, 'reprod-check', ...step.run] })),
    limits: d.cpus === undefined ? control.limits : { ...control.limits, cpus: Math.min(control.limits.cpus, d.cpus) },
    notes: [...(control.notes ?? []), `reprod check experiment: ${setKey(sorted)}`],
  };
  if (d.domainname === undefined) delete plan.domainname;
  else plan.domainname = d.domainname;
  if (d.user === undefined) delete plan.user;
  else plan.user = d.user;
  // Outputs are relative to the workdir; absolute ones under the control workdir move with it.
  plan.outputs = control.outputs.map((o) =>
    o.path.startsWith(`${control.workdir}/`) ? { ...o, path: `${d.workdir}${o.path.slice(control.workdir.length)}` } : o,
  );
  const assets = [...new Set(sorted.map((v) => SPECS[v].needs).filter((a): a is AssetName => a !== undefined))];
  return { variations: sorted, plan, assets };
}
