import type { Cause, CauseName, DiffHints } from './model.ts';

/**
 * The nondeterminism classifier: pure functions over the two sides' differing
 * lines (or printable strings of binaries) and header metadata. Each cause comes
 * with the evidence that matched and the usual fix.
 */
export const FIXES: Record<CauseName, string> = {
  'embedded-timestamp': 'honour SOURCE_DATE_EPOCH instead of the current time (e.g. `date -d @$SOURCE_DATE_EPOCH`, no __DATE__/__TIME__)',
  'archive-mtime': 'clamp member mtimes: `tar --mtime=@$SOURCE_DATE_EPOCH --clamp-mtime`, or `touch -d @$SOURCE_DATE_EPOCH` before archiving',
  'archive-order': 'sort members: `tar --sort=name`, `find … | sort | zip -@`, or `LC_ALL=C sort` the file list',
  'file-ownership': 'normalise owners: `tar --owner=0 --group=0 --numeric-owner`',
  'file-permissions': 'fix the umask (`umask 022`) or normalise modes: `tar --mode=go-w,u+rw`, `chmod` before archiving',
  'gzip-header': 'omit name and mtime from the gzip header: `gzip -n` (or `GZIP=-n`, `tar … | gzip -n`)',
  'build-path': 'map the build directory away: `-ffile-prefix-map=$PWD=.` (C/C++), `-trimpath` (Go), `--remap-path-prefix` (Rust), or build in a fixed path',
  timezone: 'build with `TZ=UTC` and format times in UTC',
  locale: 'build with `LC_ALL=C.UTF-8` (sorting, number and date formats depend on the locale)',
  hostname: 'do not embed the host name; use a fixed hostname in the build container',
  username: 'do not embed the build user name; build as a fixed user',
  randomness: 'seed random generators deterministically, derive ids from content (not uuid4/random), sort hash-ordered output',
  'map-order': 'serialise maps with sorted keys (e.g. JSON.stringify of sorted entries, `json.dumps(sort_keys=True)`)',
  'build-id': 'the build-id is a hash of the other bytes: fix the causes in the differing sections and it follows',
  checksum: 'a checksum of another file (md5sums, SHA256SUMS, …): fix the causes in the file it names and it follows',
  'toolchain-drift': 'rebuild with the recorded tool versions (Debian: a snapshot mirror of the build date, rebuilders.debian.snapshotMirror), or accept that the toolchain changed the output',
  unknown: 'inspect the unified diff / hex context; rerun with `reprod check` to pin the variation that causes it',
};

export function cause(name: CauseName, evidence: string): Cause {
  return { cause: name, evidence: evidence.length > 300 ? `${evidence.slice(0, 297)}...` : evidence, fix: FIXES[name] };
}

/** Metadata field → cause (archive headers, gzip header); `a`/`b` are the two sides' values. */
export function classifyMeta(field: string, a: unknown, b?: unknown): Cause {
  const example = b === undefined ? String(a) : `${field}: ${String(a)} ⇢ ${String(b)}`;
  const byField: Record<string, CauseName> = {
    mtime: 'archive-mtime',
    uid: 'file-ownership',
    gid: 'file-ownership',
    uname: 'file-ownership',
    gname: 'file-ownership',
    mode: 'file-permissions',
    'gzip.mtime': 'gzip-header',
    'gzip.name': 'gzip-header',
    'gzip.os': 'gzip-header',
    'gzip.comment': 'gzip-header',
    'gzip.xfl': 'gzip-header',
    'gzip.flags': 'gzip-header',
    // zip extra fields mostly carry extended timestamps (UT) and owners (ux).
    extra: 'archive-mtime',
    gzipMtime: 'gzip-header',
    gzipName: 'gzip-header',
    order: 'archive-order',
  };
  if (field === 'linkname' && typeof a === 'string' && typeof b === 'string') return classifyPair(a, b)[0] ?? cause('unknown', example);
  return cause(byField[field] ?? 'unknown', example);
}

const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*';
const DATE_RES = [
  /\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?/,
  /\b\d{1,2}:\d{2}:\d{2}\b/,
  new RegExp(`\\b${MONTH}\\s+\\d{1,2}\\b`),
  new RegExp(`\\b\\d{1,2}\\s+${MONTH}\\b`),
  /\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b/,
];
const TZ_NAME = /\b(?:UTC|GMT|CET|CEST|EET|EEST|WET|WEST|BST|IST|EST|EDT|CST|CDT|MST|MDT|PST|PDT|AKST|AKDT|HST|JST|KST|AEST|AEDT|ACST|NZST|NZDT|MSK|SGT|HKT|[A-Z][a-z]+\/[A-Z][A-Za-z_]+)\b/;
const TZ_OFFSET = /(?:^|[\s\dT:])[+-](?:0\d|1[0-4]):?[0-5]\d\b/;
const PATHISH = /(?:\/[\w.+-]+){2,}/;
const TEMP_PATH = /\/(?:build|tmp|var\/tmp|home|root|usr\/src|builds?|workspace|work|buildd|sbuild|runner)\//;
const HEX_RUN = /\b[0-9a-fA-F]{16,}\b/;
const B64_RUN = /[A-Za-z0-9+/]{24,}={0,2}/;
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/i;

/** Matches of several patterns in text order, overlapping ones dropped (a date-time is one token, not two). */
function matches(res: RegExp[], s: string): string[] {
  const found = res
    .flatMap((r) => [...s.matchAll(new RegExp(r.source, r.flags.includes('g') ? r.flags : `${r.flags}g`))].map((m) => ({ at: m.index, text: m[0] })))
    .sort((x, y) => x.at - y.at || y.text.length - x.text.length);
  const out: string[] = [];
  let end = -1;
  for (const f of found) {
    if (f.at < end) continue;
    out.push(f.text);
    end = f.at + f.text.length;
  }
  return out;
}

/** Matches on both lines, when they differ between the two sides: [sideA, sideB]. */
function differing(re: RegExp | RegExp[], a: string, b: string, keep: (m: string) => boolean = () => true): [string, string] | undefined {
  const res = Array.isArray(re) ? re : [re];
  const ma = matches(res, a).filter(keep);
  const mb = matches(res, b).filter(keep);
  if (!ma.length || !mb.length || ma.join('\0') === mb.join('\0')) return undefined;
  return [ma.join(' '), mb.join(' ')];
}

const EPOCH = /\b\d{10}(?:\d{3})?\b/;

function isEpoch(m: string, now: number): boolean {
  const v = m.length === 13 ? Number(m) / 1000 : Number(m);
  return v > 946_684_800 && v < now / 1000 + 10 * 365 * 86400;
}

function isRandomRun(run: string): boolean {
  // Long runs of one letter, plain words or plain numbers are not random.
  return new Set(run).size >= 8 && !/^[a-z]+$/i.test(run) && !/^\d+$/.test(run);
}

/** Day and month names of a few common non-English locales: a date printed in the build's locale. */
const LOCALE_WORDS = /(?<![\p{L}])(?:janv|févr|mars|avr|juin|juil|août|déc|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|Januar|Februar|März|Juni|Juli|Oktober|Dezember|Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre|lunes|martes|miércoles|jueves|viernes|sábado|domingo|lun|mer|jeu|ven|sam|dim|Mär|Okt|Dez)\.?(?![\p{L}])/u;
const ENGLISH_DATE_WORDS = /\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\b/;

/** `<md5|sha1|sha256|sha512 hex>  [*]NAME` as md5sum/sha256sum print it. */
const CHECKSUM_LINE = /^([0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128}) [ *](\S.*)$/;

/** Both lines checksum the same file and only the digest differs: a consequence of that file's difference. */
function checksumOf(a: string, b: string): string | undefined {
  const ma = CHECKSUM_LINE.exec(a.trim());
  const mb = CHECKSUM_LINE.exec(b.trim());
  if (!ma || !mb || ma[2] !== mb[2] || ma[1] === mb[1] || ma[1]!.length !== mb[1]!.length) return undefined;
  return `checksum of ${ma[2]}: ${ma[1]} ⇢ ${mb[1]}`;
}

const HOST_CTX = /(?:host(?:name)?\s*[:=]?\s*|\bon\s+|@)([A-Za-z0-9][\w.-]{1,62})/i;

/** Causes of one changed line pair (a from side 1, b from side 2). */
export function classifyPair(a: string, b: string, hints: DiffHints = {}, now = Date.now()): Cause[] {
  const out: Cause[] = [];
  const add = (c: CauseName, ev: [string, string] | string) => {
    if (!out.some((x) => x.cause === c)) out.push(cause(c, typeof ev === 'string' ? ev : `${ev[0]} ⇢ ${ev[1]}`));
  };
  const line = `${a.trim().slice(0, 140)} ⇢ ${b.trim().slice(0, 140)}`;
  const sum = checksumOf(a, b);
  if (sum) {
    add('checksum', sum);
    return out;
  }
  const mentions = (xs: string[] | undefined) => (xs ?? []).find((x) => x.length >= 3 && a.includes(x) !== b.includes(x));
  // Hints from the caller (e.g. `reprod check`'s canaries) name the cause exactly.
  const bp = mentions(hints.buildPaths);
  if (bp) add('build-path', `${bp}: ${line}`);
  const hn = mentions(hints.hostnames);
  if (hn) add('hostname', `${hn}: ${line}`);
  const us = mentions(hints.users);
  if (us) add('username', `${us}: ${line}`);
  for (const c of hints.canaries ?? []) {
    if (c.canary.length >= 3 && a.includes(c.canary) !== b.includes(c.canary)) {
      const v = c.variation;
      add(v in FIXES ? (v as CauseName) : v === 'user' ? 'username' : v === 'time' || v === 'date' || v === 'clock' ? 'embedded-timestamp' : v === 'umask' ? 'file-permissions' : 'unknown', `canary ${c.canary}: ${line}`);
    }
  }
  const tz = differing([TZ_NAME, TZ_OFFSET], a, b, (m) => m.trim().length > 0);
  if (tz) add('timezone', tz);
  const date = differing(DATE_RES, a, b) ?? differing(EPOCH, a, b, (m) => isEpoch(m, now));
  if (date && !(tz && sameClockDiffersOnlyInZone(a, b))) add('embedded-timestamp', date);
  const path = differing(PATHISH, a, b);
  if (path && (TEMP_PATH.test(path[0]) || TEMP_PATH.test(path[1]))) add('build-path', path);
  if ((ENGLISH_DATE_WORDS.test(a) && LOCALE_WORDS.test(b) && !LOCALE_WORDS.test(a)) || (ENGLISH_DATE_WORDS.test(b) && LOCALE_WORDS.test(a) && !LOCALE_WORDS.test(b))) {
    add('locale', line);
  }
  const num = differing(/\b\d+[.,]\d+\b/, a, b);
  if (num && num[0].replace(/[.,]/g, '') === num[1].replace(/[.,]/g, '')) add('locale', num);
  if (!out.length) {
    const h = differing(HOST_CTX, a, b);
    if (h) add('hostname', h);
  }
  if (!out.length) {
    const r = differing([UUID, HEX_RUN, B64_RUN], a, b, isRandomRun);
    if (r) add('randomness', r);
  }
  if (!out.length && path) add('build-path', path);
  return out;
}

/** Same wall-clock digits, only the zone differs: then it is not (also) a timestamp cause. */
function sameClockDiffersOnlyInZone(a: string, b: string): boolean {
  const strip = (s: string) => s.replace(TZ_NAME, '').replace(TZ_OFFSET, '').replace(/\s+/g, '');
  return strip(a) === strip(b);
}

/**
 * Causes of a changed hunk: `removed` lines of side 1 against `added` lines of
 * side 2. Lines are paired in order; a hunk that only reorders lines is a sort
 * (locale) or iteration-order (randomness) problem.
 */
export function classifyLines(removed: string[], added: string[], hints: DiffHints = {}, now = Date.now()): Cause[] {
  const out: Cause[] = [];
  const push = (cs: Cause[]) => {
    for (const c of cs) if (!out.some((x) => x.cause === c.cause)) out.push(c);
  };
  if (removed.length > 1 && removed.length === added.length && [...removed].sort().join('\n') === [...added].sort().join('\n')) {
    const ev = `same ${removed.length} lines in another order: ${removed.slice(0, 3).join(' | ')} ⇢ ${added.slice(0, 3).join(' | ')}`;
    const cSorted = (xs: string[]) => xs.every((x, i) => i === 0 || xs[i - 1]! <= x);
    const locSorted = (xs: string[]) => xs.every((x, i) => i === 0 || xs[i - 1]!.localeCompare(x, 'en', { sensitivity: 'base' }) <= 0);
    if ((cSorted(removed) && locSorted(added)) || (cSorted(added) && locSorted(removed))) push([cause('locale', ev)]);
    else push([cause('randomness', `${ev} (hash or directory iteration order)`)]);
    return out;
  }
  const n = Math.min(Math.max(removed.length, added.length), 200);
  for (let i = 0; i < n; i++) push(classifyPair(removed[i] ?? '', added[i] ?? '', hints, now));
  return out;
}

/** Printable strings (like strings(1)) of a byte range, for classifying binaries. */
export function printable(buf: Buffer, min = 4): string[] {
  return buf.toString('latin1').match(new RegExp(`[\\x20-\\x7e]{${min},}`, 'g')) ?? [];
}

export interface ClassifyOptions {
  hints?: DiffHints;
  /** "Now" in ms, for epoch-seconds detection (default Date.now()). */
  now?: number;
}

/** classifyLines with options; always returns at least one cause (`unknown` when nothing matched). */
export function classifyText(removed: string[], added: string[], opts: ClassifyOptions = {}): Cause[] {
  const out = classifyLines(removed, added, opts.hints ?? {}, opts.now ?? Date.now());
  if (out.length) return out;
  const ev = `${removed.slice(0, 2).join(' | ').slice(0, 140)} ⇢ ${added.slice(0, 2).join(' | ').slice(0, 140)}`;
  return [cause('unknown', ev)];
}
