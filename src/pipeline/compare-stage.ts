import type { Subject } from '../attest/types.ts';
import type { BuiltOutput } from '../build/types.ts';
import type { Outcome } from '../compare/types.ts';
import { ReprodError } from '../errors.ts';
import type { CauseSummary } from '../publish/statements.ts';
import { digestsOfFile, expectedDigests } from './artifacts.ts';
import { diffReport, type RenderedReport } from './report.ts';

/**
 * Strict comparison: every digest the attestation gives for a subject must
 * equal the rebuilt file's (streamed, constant memory). On a mismatch the
 * report explains what differs: a full diff when the upstream file is at hand.
 */
export interface SubjectComparison {
  subject: Subject;
  outcome: Exclude<Outcome, 'error'>;
  rebuilt: BuiltOutput;
  rebuiltDigests: Record<string, string>;
  report?: RenderedReport;
  causes?: CauseSummary[];
}

export async function compareSubject(
  subject: Subject,
  rebuilt: BuiltOutput | undefined,
  upstreamPath: string | undefined,
  opts: { signal?: AbortSignal; drift?: string[] } = {},
): Promise<SubjectComparison> {
  if (!rebuilt) throw new ReprodError('OUTPUT_MISSING', `the build produced no output for subject ${subject.name}`);
  const expected = expectedDigests(subject);
  const algorithms = Object.keys(expected);
  if (algorithms.length === 0) throw new ReprodError('PLAN_INVALID', `subject ${subject.name} has no sha256/sha384/sha512 digest to compare`);
  const rebuiltDigests = { ...(await digestsOfFile(rebuilt.path, [...new Set([...algorithms, 'sha256'])])) };
  const same = algorithms.every((a) => rebuiltDigests[a] === expected[a]);
  if (same) return { subject, outcome: 'reproduced', rebuilt, rebuiltDigests };
  const { report, causes } = await diffReport({ subject, expected, rebuiltDigests, rebuiltPath: rebuilt.path, upstreamPath, ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.drift ? { drift: opts.drift } : {}) });
  return { subject, outcome: 'not-reproduced', rebuilt, rebuiltDigests, report, causes };
}
