/**
 * `npm test`'s test runner: node --test over every test file with the spec
 * reporter on stdout, then one closing line with the pass/fail counts, so a CI log
 * always ends with them. Exit code: node --test's own (non-zero when a test failed).
 *
 *   node test/runner/run.ts [extra node --test arguments]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'reprod-test-counts-'));
const countsFile = join(dir, 'counts.json');
const args = [
  '--test',
  '--test-concurrency=2',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  `--test-reporter=${join(root, 'test/runner/counts-reporter.ts')}`, `--test-reporter-destination=${countsFile}`,
  ...process.argv.slice(2),
  'test/**/*.test.ts', 'rebuilders/**/*.test.ts',
];
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
child.on('close', (code, signal) => {
  let line = 'tests: no counts were recorded (the runner stopped early)';
  try {
    const c = JSON.parse(readFileSync(countsFile, 'utf8')) as Record<string, number>;
    line = `tests: ${c.passed ?? 0} passed, ${c.failed ?? 0} failed, ${c.skipped ?? 0} skipped, ${c.cancelled ?? 0} cancelled (${c.tests ?? 0} in all)`;
  } catch {
    // keep the fallback line
  }
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`\n${line}\n`);
  process.exit(code ?? (signal ? 1 : 0));
});
