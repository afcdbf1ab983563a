import assert from 'node:assert/strict';
import { test } from 'node:test';
// program.ts first: it is the root of the CLI's import graph (commands import its exit codes).
import '../../src/cli/program.ts';
import { ProgressDisplay } from '../../src/cli/progress-display.ts';
import { exitCodeFor, formatVerdicts } from '../../src/cli/rebuild.ts';
import type { JobVerdict } from '../../src/pipeline/rebuild.ts';

const v = (outcome: JobVerdict['outcome'], extra: Partial<JobVerdict> = {}): JobVerdict => ({
  jobId: 'j',
  subject: { name: 'hello', sha256: 'a'.repeat(64) },
  outcome,
  dir: `out/${'a'.repeat(64)}`,
  verdict: {},
  ...extra,
});

test('exit codes: 0 all reproduced, 1 any not reproduced, 2 any error', () => {
  assert.equal(exitCodeFor([v('reproduced'), v('reproduced')]), 0);
  assert.equal(exitCodeFor([v('reproduced'), v('not-reproduced')]), 1);
  assert.equal(exitCodeFor([v('not-reproduced'), v('error')]), 2);
});

test('the summary names the outcome, the error code and where the report is', () => {
  const text = formatVerdicts([v('error', { error: { code: 'SOURCE_COMMIT_NOT_FOUND', message: 'gone' } }), v('not-reproduced', { rebuiltSha256: 'b'.repeat(64) })]);
  assert.match(text, /ERROR\s+hello/);
  assert.match(text, /error\[SOURCE_COMMIT_NOT_FOUND\]/);
  assert.match(text, /report\.txt/);
});

test('progress off a terminal is one line per event with elapsed seconds', () => {
  const lines: string[] = [];
  const out = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
  const d = new ProgressDisplay(out);
  d.handle({ stage: 'build', state: 'start' });
  d.handle({ stage: 'build', state: 'info', message: 'fetch: npm ci' });
  d.handle({ stage: 'build', state: 'done', elapsedMs: 1500 });
  d.handle({ stage: 'sign', state: 'failed', elapsedMs: 10, message: 'no key' });
  d.stop();
  assert.deepEqual(lines, ['… build   \n', '  build: fetch: npm ci\n', '✔ build    1.5s\n', '✖ sign     0.0s  no key\n']);
});
