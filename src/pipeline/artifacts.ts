import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Subject } from '../attest/types.ts';
import { ReprodError } from '../errors.ts';

/**
 * Upstream artifacts are optional: when the published file sits beside the
 * attestation (or in --artifacts DIR) under its subject's base name, it is
 * checked against the claimed digest (a different file is SUBJECT_MISMATCH)
 * and, on a mismatch, diffed against the rebuilt one.
 */
export async function digestsOfFile(path: string, algorithms: string[]): Promise<Record<string, string>> {
  const hashes = algorithms.map((a) => [a, createHash(a)] as const);
  await pipeline(createReadStream(path), async function* (source) {
    for await (const chunk of source) for (const [, h] of hashes) h.update(chunk as Buffer);
  });
  return Object.fromEntries(hashes.map(([a, h]) => [a, h.digest('hex')]));
}

/** Digest algorithms we compare, strongest first; others in a statement are ignored. */
export const KNOWN_ALGORITHMS = ['sha512', 'sha384', 'sha256'] as const;

export function expectedDigests(subject: Subject): Record<string, string> {
  const all: Record<string, string> = { ...(subject.digest ?? {}) };
  if (subject.sha256) all.sha256 = subject.sha256;
  return Object.fromEntries(KNOWN_ALGORITHMS.filter((a) => all[a]).map((a) => [a, all[a]!.toLowerCase()]));
}

/** Names the output folder already uses for its own files. */
const RESERVED = new Set(['verdict.json', 'vsa.sigstore.json', 'rebuild.sigstore.json', 'build.log', 'report.json', 'report.txt', 'report.html']);

/** The file name a subject's artifact has on disk: the subject's base name, never one of ours. */
export function artifactFileName(subject: Subject): string {
  const tail = subject.name.startsWith('pkg:npm/') ? subject.name.split('/').pop()! : basename(subject.name);
  const name = tail.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[._-]+/, '').slice(0, 120) || 'artifact';
  return RESERVED.has(name) ? `artifact-${name}` : name;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * The upstream artifact of `subject` in `dir` (named after the subject, or after
 * the plan's output file, e.g. npm's tarball name), verified; undefined when absent.
 */
export async function findUpstreamArtifact(subject: Subject, dir: string | undefined, outputPath?: string): Promise<string | undefined> {
  if (dir === undefined) return undefined;
  const names = [artifactFileName(subject), ...(outputPath ? [basename(outputPath)] : [])];
  let path: string | undefined;
  for (const name of names) if (await isFile(join(dir, name))) path = path ?? join(dir, name);
  if (path === undefined) return undefined;
  const expected = expectedDigests(subject);
  const actual = await digestsOfFile(path, Object.keys(expected));
  for (const [alg, hex] of Object.entries(expected)) {
    if (actual[alg] !== hex) {
      throw new ReprodError('SUBJECT_MISMATCH', `${path} has ${alg} ${actual[alg]}, but the attestation claims ${hex} for ${subject.name}`, {
        details: { path, algorithm: alg, claimed: hex, actual: actual[alg] },
      });
    }
  }
  return path;
}
