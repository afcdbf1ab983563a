/**
 * Lookups in verified Packages and Sources indices (pure): which .debs a
 * source version built, and which files make up a source package.
 */
import { ReprodError } from '../../errors.ts';
import { field, fieldLines, type Paragraph } from './deb822.ts';

export interface BinaryPackage {
  package: string;
  version: string;
  architecture: string;
  /** Path of the .deb below the mirror base (pool/main/…). */
  filename: string;
  size: number;
  sha256: string;
}

export interface SourceFile {
  name: string;
  size: number;
  sha256: string;
}

export interface SourcePackage {
  name: string;
  version: string;
  /** Folder below the mirror base (pool/main/h/hello). */
  directory: string;
  /** The .dsc first, then the tarballs it names. */
  files: SourceFile[];
}

/** `Source: hello (2.10-3)` or `Source: hello` or absent (binary named like its source). */
export function sourceOf(p: Paragraph): { name: string; version: string } {
  const pkg = field(p, 'Package') ?? '';
  const version = field(p, 'Version') ?? '';
  const src = field(p, 'Source');
  if (!src) return { name: pkg, version };
  const m = /^(\S+)(?:\s+\((\S+)\))?$/.exec(src.trim());
  if (!m) return { name: src.trim(), version };
  return { name: m[1]!, version: m[2] ?? version };
}

const SHA256 = /^[0-9a-f]{64}$/;

function binaryOf(p: Paragraph): BinaryPackage {
  const b = {
    package: field(p, 'Package') ?? '',
    version: field(p, 'Version') ?? '',
    architecture: field(p, 'Architecture') ?? '',
    filename: field(p, 'Filename') ?? '',
    size: Number(field(p, 'Size') ?? NaN),
    sha256: (field(p, 'SHA256') ?? '').toLowerCase(),
  };
  if (!b.package || !b.version || !b.filename || !Number.isInteger(b.size) || !SHA256.test(b.sha256)) {
    throw new ReprodError('INDEX_INVALID', `Packages entry ${JSON.stringify(b.package)} lacks Filename, Size or SHA256`);
  }
  if (b.filename.split('/').includes('..') || b.filename.startsWith('/')) throw new ReprodError('INDEX_INVALID', `Packages entry ${b.package}: Filename ${b.filename} leaves the mirror`);
  return b;
}

/** The .debs built from `source` at `version` for the architectures asked (e.g. amd64 and all). */
export function binariesOf(packages: Paragraph[], source: string, version: string, architectures: string[]): BinaryPackage[] {
  const out = new Map<string, BinaryPackage>();
  for (const p of packages) {
    const s = sourceOf(p);
    if (s.name !== source || s.version !== version) continue;
    if (!architectures.includes(field(p, 'Architecture') ?? '')) continue;
    const b = binaryOf(p);
    out.set(b.filename, b);
  }
  return [...out.values()].sort((a, b) => a.filename.localeCompare(b.filename));
}

/** The Sources entry of `name` at `version`, with its files pinned by sha256. */
export function sourcePackageOf(sources: Paragraph[], name: string, version: string): SourcePackage | undefined {
  const p = sources.find((s) => field(s, 'Package') === name && field(s, 'Version') === version);
  if (!p) return undefined;
  const directory = field(p, 'Directory') ?? '';
  if (!directory || directory.split('/').includes('..') || directory.startsWith('/')) throw new ReprodError('INDEX_INVALID', `Sources entry ${name}: bad Directory ${JSON.stringify(directory)}`);
  const files = fieldLines(p, 'Checksums-Sha256').map((line) => {
    const [sha256, size, file] = line.split(/\s+/);
    if (!sha256 || !SHA256.test(sha256) || !/^\d+$/.test(size ?? '') || !file || file.includes('/')) {
      throw new ReprodError('INDEX_INVALID', `Sources entry ${name}: bad Checksums-Sha256 line ${JSON.stringify(line)}`);
    }
    return { name: file, size: Number(size), sha256 };
  });
  files.sort((a, b) => Number(b.name.endsWith('.dsc')) - Number(a.name.endsWith('.dsc')));
  if (!files[0]?.name.endsWith('.dsc')) throw new ReprodError('INDEX_INVALID', `Sources entry ${name} ${version} lists no .dsc`);
  return { name, version, directory, files };
}
