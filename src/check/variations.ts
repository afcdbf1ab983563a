/**
 * The environment variations `reprod check` can apply to a build, each as a
 * pure change to a control experiment. Experiment values carry recognisable
 * canaries so the report can point at the exact bytes where one leaked into
 * an output.
 */
import { ReprodError } from '../errors.ts';

export const VARIATIONS = [
  'clock',
  'source-date-epoch',
  'build-path',
  'umask',
  'timezone',
  'locale',
  'hostname',
  'user',
  'home',
  'env',
  'path',
  'cpus',
  'fs-order',
  'kernel',
] as const;
export type VariationName = (typeof VARIATIONS)[number];

/** Host files some variations need inside the container (see assets.ts). */
export type AssetName = 'faketime' | 'locale' | 'readdir-shim';

/** Where the host assets are mounted (read-only) inside the build container. */
export const ASSET_MOUNT = '/reprod-check';
export const FAKETIME_LIB = `${ASSET_MOUNT}/libfaketime.so.1`;
export const READDIR_SHIM = `${ASSET_MOUNT}/readdir-reverse.so`;
export const LOCALE_DIR = `${ASSET_MOUNT}/locale`;
/** A locale whose collation differs from C's (case-insensitive, Estonian z between s and t). */
export const EXPERIMENT_LOCALE = 'et_EE.UTF-8';
/** reprotest's shift: over a year, so dates, years and weekdays all change. */
export const CLOCK_SHIFT = '+398d';

export const CANARY = {
  hostname: 'reprod-canary-host',
  domain: 'reprod-canary-domain',
  buildPath: '/build/reprod-canary-path',
  user: 'reprod-canary-user',
  uid: '1234',
  home: '/nonexistent/reprod-canary-home',
  env: 'reprod-canary-env',
  pathDir: '/reprod-canary-bin',
  timezone: 'REPRODCANARY',
} as const;

/** The mutable draft one experiment is assembled in; turned into argv and plan by experiment.ts. */
export interface Draft {
  workdir: string;
  hostname: string;
  domainname: string | undefined;
  user: string | undefined;
  /** Ordered: the `env` variation changes the order. */
  env: [string, string][];
  /** Shell statements run before the build command. */
  prelude: string[];
  /** Commands the build is exec'd through (taskset, setarch). */
  wrappers: string[][];
  /** Libraries for LD_PRELOAD. */
  preload: string[];
  cpus: number | undefined;
}

export interface VariationSpec {
  name: VariationName;
  /** What the control build does, and what the experiment does instead. */
  control: string;
  experiment: string;
  /** The recognisable values that may show up in outputs. */
  canaries?: string[];
  needs?: AssetName;
  /** The diff engine's cause name for what this variation exposes, and the usual fix. */
  cause: string;
  fix: string;
  /** Host facts the variation needs to differ from the control at all. */
  requires?: (host: HostFacts) => string | undefined;
  apply: (d: Draft) => void;
}

export interface HostFacts {
  cpuCount: number;
  /** Assets prepared on this host (others make their variation unavailable). */
  assets: ReadonlySet<AssetName>;
}

function setEnv(d: Draft, key: string, value: string): void {
  const i = d.env.findIndex(([k]) => k === key);
  if (i >= 0) d.env[i] = [key, value];
  else d.env.push([key, value]);
}

export const SPECS: Record<VariationName, VariationSpec> = {
  clock: {
    name: 'clock',
    control: 'the real wall clock',
    experiment: `wall clock shifted ${CLOCK_SHIFT} (libfaketime)`,
    cause: 'embedded-timestamp',
    fix: 'use SOURCE_DATE_EPOCH instead of the current time (date -u -d @$SOURCE_DATE_EPOCH), or drop the timestamp',
    needs: 'faketime',
    apply: (d) => {
      d.preload.push(FAKETIME_LIB);
      setEnv(d, 'FAKETIME', CLOCK_SHIFT);
      // Monotonic clocks stay real so timeouts and make's timestamps behave.
      setEnv(d, 'FAKETIME_DONT_FAKE_MONOTONIC', '1');
    },
  },
  'source-date-epoch': {
    name: 'source-date-epoch',
    control: 'SOURCE_DATE_EPOCH set',
    experiment: 'SOURCE_DATE_EPOCH unset',
    cause: 'embedded-timestamp',
    fix: "the build honours SOURCE_DATE_EPOCH (good): set it in every build, e.g. to the last commit's time (git log -1 --format=%ct)",
    apply: (d) => {
      d.env = d.env.filter(([k]) => k !== 'SOURCE_DATE_EPOCH');
    },
  },
  'build-path': {
    name: 'build-path',
    control: 'the fixed build path',
    experiment: CANARY.buildPath,
    cause: 'build-path',
    fix: 'compile with -ffile-prefix-map=$PWD=. (gcc/clang), use relative paths, or strip the build directory from outputs',
    canaries: [CANARY.buildPath],
    apply: (d) => {
      d.workdir = CANARY.buildPath;
    },
  },
  umask: {
    name: 'umask',
    control: 'umask 022',
    experiment: 'umask 002',
    cause: 'file-permissions',
    fix: 'set modes explicitly: tar --mode=go-w (or u=rwX,go=rX), install -m, chmod before packaging, or umask 022 in the build',
    apply: (d) => {
      d.prelude = d.prelude.map((s) => (s === 'umask 022' ? 'umask 002' : s));
    },
  },
  timezone: {
    name: 'timezone',
    control: 'TZ=UTC',
    experiment: `TZ=${CANARY.timezone}-14 (UTC+14)`,
    cause: 'timezone',
    fix: 'format times in UTC (date -u, TZ=UTC) or from SOURCE_DATE_EPOCH',
    canaries: [CANARY.timezone],
    apply: (d) => setEnv(d, 'TZ', `${CANARY.timezone}-14`),
  },
  locale: {
    name: 'locale',
    control: 'LC_ALL=C.UTF-8',
    experiment: `LC_ALL=${EXPERIMENT_LOCALE} (other collation, number and date formats)`,
    cause: 'locale',
    fix: 'set LC_ALL=C.UTF-8 (or C) for the build, or sort with an explicit collation',
    needs: 'locale',
    apply: (d) => {
      setEnv(d, 'LC_ALL', EXPERIMENT_LOCALE);
      setEnv(d, 'LANG', EXPERIMENT_LOCALE);
      // LOCPATH lets glibc load a locale compiled on the host: the image needs no locales package.
      setEnv(d, 'LOCPATH', LOCALE_DIR);
    },
  },
  hostname: {
    name: 'hostname',
    control: 'the fixed hostname, no domain name',
    experiment: `hostname ${CANARY.hostname}, domain name ${CANARY.domain}`,
    cause: 'hostname',
    fix: 'do not record the host or domain name (uname -n, hostname) in outputs',
    canaries: [CANARY.hostname, CANARY.domain],
    apply: (d) => {
      d.hostname = CANARY.hostname;
      d.domainname = CANARY.domain;
    },
  },
  user: {
    name: 'user',
    control: 'root (uid 0), USER/LOGNAME unset',
    experiment: `uid:gid ${CANARY.uid}:${CANARY.uid}, USER=LOGNAME=${CANARY.user}`,
    cause: 'file-ownership',
    fix: 'do not record the user (whoami, $USER, uid); for archives use tar --owner=0 --group=0 --numeric-owner',
    canaries: [CANARY.user],
    apply: (d) => {
      d.user = `${CANARY.uid}:${CANARY.uid}`;
      setEnv(d, 'USER', CANARY.user);
      setEnv(d, 'LOGNAME', CANARY.user);
    },
  },
  home: {
    name: 'home',
    control: "the image's HOME",
    experiment: `HOME=${CANARY.home}`,
    cause: 'unknown',
    fix: 'do not record $HOME or paths under it; keep caches outside the outputs',
    canaries: [CANARY.home],
    apply: (d) => setEnv(d, 'HOME', CANARY.home),
  },
  env: {
    name: 'env',
    control: 'the plan environment, in order',
    experiment: `the environment reversed, plus REPROD_CANARY=${CANARY.env}`,
    cause: 'unknown',
    fix: 'do not record the whole environment (env, printenv, os.environ) or its order; record only the variables you need',
    canaries: [CANARY.env],
    apply: (d) => {
      d.env = [...d.env].reverse();
      d.env.push(['REPROD_CANARY', CANARY.env]);
    },
  },
  path: {
    name: 'path',
    control: "the image's PATH",
    experiment: `${CANARY.pathDir} prepended to PATH`,
    cause: 'build-path',
    fix: 'do not record $PATH or the absolute paths of tools found on it',
    canaries: [CANARY.pathDir],
    apply: (d) => {
      d.prelude.push(`export PATH=${CANARY.pathDir}:"$PATH"`);
    },
  },
  cpus: {
    name: 'cpus',
    control: 'every CPU of the machine',
    experiment: 'one CPU (taskset -c 0; nproc prints 1)',
    cause: 'unknown',
    fix: 'do not record the CPU count (nproc, -j values) and make parallel builds order their outputs',
    requires: (host) => (host.cpuCount < 2 ? `this machine has ${host.cpuCount} CPU: the count cannot be varied` : undefined),
    apply: (d) => {
      // A CPU quota does not change nproc; an affinity mask does, and needs no capability.
      d.wrappers.push(['taskset', '-c', '0']);
      d.cpus = 1;
    },
  },
  'fs-order': {
    name: 'fs-order',
    control: 'the file system readdir order',
    experiment: 'readdir order reversed (LD_PRELOAD shim, like disorderfs --reverse-dirents)',
    cause: 'archive-order',
    fix: 'sort directory listings: tar --sort=name, find | sort, sorted(os.listdir()), LC_ALL=C ls',
    needs: 'readdir-shim',
    apply: (d) => {
      d.preload.push(READDIR_SHIM);
    },
  },
  kernel: {
    name: 'kernel',
    control: 'the host kernel (uname -r / -m)',
    experiment: 'setarch i686 --uname-2.6 (uname -m i686, uname -r 2.6.x)',
    cause: 'unknown',
    fix: 'do not record the kernel release or machine (uname -r/-m); take the target architecture from the toolchain',
    apply: (d) => {
      d.wrappers.push(['setarch', 'i686', '--uname-2.6']);
    },
  },
};

/** Why a variation cannot run on this host, or undefined when it can. */
export function unavailable(name: VariationName, host: HostFacts): string | undefined {
  const spec = SPECS[name];
  if (spec.needs && !host.assets.has(spec.needs)) return `needs the host asset "${spec.needs}" (see reprod check --help)`;
  return spec.requires?.(host);
}

/** Parses `--vary`: `all`, or a comma list where `-name` removes one from the default set. */
export function parseVaryList(list: string | undefined): VariationName[] {
  if (list === undefined || list.trim() === '' || list.trim() === 'all') return [...VARIATIONS];
  const items = list.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = items.map((s) => s.replace(/^[-+]/, '')).filter((s) => !(VARIATIONS as readonly string[]).includes(s));
  if (unknown.length > 0) throw new ReprodError('USAGE', `unknown variation ${unknown.map((u) => JSON.stringify(u)).join(', ')}; known: ${VARIATIONS.join(', ')}`);
  const removing = items.every((s) => s.startsWith('-'));
  if (removing) return VARIATIONS.filter((v) => !items.includes(`-${v}`));
  const wanted = new Set(items.filter((s) => !s.startsWith('-')).map((s) => s.replace(/^\+/, '')));
  const dropped = new Set(items.filter((s) => s.startsWith('-')).map((s) => s.slice(1)));
  return VARIATIONS.filter((v) => wanted.has(v) && !dropped.has(v));
}
