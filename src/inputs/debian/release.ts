/**
 * A verified Release file (the body of InRelease) and the checks apt makes on
 * it: the suite is the one asked for, Date is not in the future, Valid-Until
 * has not passed. Pure: the signature is checked before (deb822.ts).
 */
import { ReprodError } from '../../errors.ts';
import { field, fieldLines, parseDeb822 } from './deb822.ts';

export interface IndexFile {
  /** Path relative to dists/SUITE/ (e.g. main/binary-amd64/Packages.xz). */
  path: string;
  size: number;
  sha256: string;
}

export interface Release {
  suite: string;
  codename: string;
  date: Date;
  validUntil?: Date;
  acquireByHash: boolean;
  architectures: string[];
  components: string[];
  files: Map<string, IndexFile>;
}

/** Release dates are RFC 2822 in UTC ("Sat, 10 May 2025 08:52:53 UTC"). */
function parseDate(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value.replace(/ UTC$/, ' GMT'));
  if (Number.isNaN(d.getTime())) throw new ReprodError('INDEX_INVALID', `Release ${name} ${JSON.stringify(value)} is not a date`);
  return d;
}

const SHA256 = /^[0-9a-f]{64}$/;

export function parseRelease(body: string): Release {
  const [p] = parseDeb822(body);
  if (!p) throw new ReprodError('INDEX_INVALID', 'Release is empty');
  const date = parseDate(field(p, 'Date'), 'Date');
  if (!date) throw new ReprodError('INDEX_INVALID', 'Release has no Date');
  const validUntil = parseDate(field(p, 'Valid-Until'), 'Valid-Until');
  const files = new Map<string, IndexFile>();
  for (const line of fieldLines(p, 'SHA256')) {
    const [sha256, size, path] = line.split(/\s+/);
    if (!sha256 || !SHA256.test(sha256) || !/^\d+$/.test(size ?? '') || !path) throw new ReprodError('INDEX_INVALID', `Release SHA256 line ${JSON.stringify(line)} is malformed`);
    files.set(path, { path, size: Number(size), sha256 });
  }
  if (files.size === 0) throw new ReprodError('INDEX_INVALID', 'Release lists no SHA256 index files (apt needs SHA256)');
  const words = (name: string) => (field(p, name) ?? '').split(/\s+/).filter((w) => w !== '');
  return {
    suite: field(p, 'Suite') ?? '',
    codename: field(p, 'Codename') ?? '',
    date,
    ...(validUntil ? { validUntil } : {}),
    acquireByHash: (field(p, 'Acquire-By-Hash') ?? '').toLowerCase() === 'yes',
    architectures: words('Architectures'),
    components: words('Components'),
    files,
  };
}

/** Dates further than this in the future are refused (apt's clock-skew allowance is similar). */
export const MAX_FUTURE_SKEW_MS = 10 * 60 * 1000;

/**
 * The checks apt makes before it trusts a Release: it is for the suite asked
 * (by Suite or Codename: a validly signed Release of another suite is a
 * substitution), not dated in the future, not past Valid-Until.
 */
export function checkRelease(r: Release, suite: string, now: Date): void {
  if (r.suite !== suite && r.codename !== suite) {
    throw new ReprodError('INDEX_INVALID', `the Release fetched for ${suite} is for suite ${JSON.stringify(r.suite)} / codename ${JSON.stringify(r.codename)}`);
  }
  if (r.date.getTime() > now.getTime() + MAX_FUTURE_SKEW_MS) {
    throw new ReprodError('INDEX_INVALID', `the Release of ${suite} is dated ${r.date.toISOString()}, in the future (check this machine's clock)`);
  }
  if (r.validUntil && r.validUntil.getTime() < now.getTime()) {
    throw new ReprodError('INDEX_EXPIRED', `the Release of ${suite} expired at ${r.validUntil.toISOString()} (Valid-Until)`, {
      details: { suite, validUntil: r.validUntil.toISOString(), now: now.toISOString() },
    });
  }
}

/**
 * The entry of the best compressed variant of an index (`main/binary-amd64/Packages`):
 * .xz, then .gz, then uncompressed.
 */
export function indexEntry(r: Release, base: string): IndexFile {
  for (const ext of ['.xz', '.gz', '']) {
    const f = r.files.get(base + ext);
    if (f) return f;
  }
  throw new ReprodError('PACKAGE_NOT_FOUND', `the Release lists no ${base} index`, { details: { index: base } });
}
