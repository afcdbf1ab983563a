import { writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { diffFiles } from '../compare/index.ts';
import { DEFAULT_MAX_REPORT_BYTES, renderReport, type ReportFormat } from '../compare/render.ts';
import { ReprodError } from '../errors.ts';
import type { RegisterCommand } from './commands.ts';

// program.ts's EXIT_OK / EXIT_NEGATIVE; not imported so `reprod diff` can start without the full program (diff-main.ts).
const EXIT_OK = 0;
const EXIT_NEGATIVE = 1;

function byteCount(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1024) throw new ReprodError('USAGE', `--max-report-bytes must be an integer >= 1024, got ${v}`);
  return n;
}

export const register: RegisterCommand = (program: Command) => {
  program
    .command('diff')
    .description(
      'Explain how two artifacts differ and why: archive-aware and recursive (tar, gzip, tar.gz/tgz, zip/jar, ar/.deb with ' +
        'gz/xz/zst members, directories), types detected by magic bytes; unified diffs for text, structural diffs for JSON, ' +
        'sections and build-id for ELF, byte ranges with hex context for other binaries. Each difference names its likely ' +
        'cause (embedded-timestamp, archive-mtime, archive-order, file-ownership, file-permissions, gzip-header, build-path, ' +
        'timezone, locale, hostname, randomness, build-id …) with evidence and the usual fix. Nothing is extracted to disk.\n' +
        'Exit codes: 0 identical, 1 different, 2 error (unreadable input, ARCHIVE_LIMIT, ARCHIVE_MALFORMED).',
    )
    .argument('<a>', 'first artifact: a file (any supported format) or a directory (the reference, e.g. the upstream artifact)')
    .argument('<b>', 'second artifact of the same kind (e.g. the rebuilt one)')
    .addOption(new Option('--format <format>', 'report format: text (for terminals), json (for machines, see docs/diff-report.md), html (one self-contained page)').choices(['text', 'json', 'html']).default('text'))
    .option('-o, --output <file>', 'write the report to FILE instead of stdout')
    .option('--max-report-bytes <n>', 'cap on the report size; a truncated report says what it left out', byteCount, DEFAULT_MAX_REPORT_BYTES)
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  reprod diff upstream/pkg-1.0.0.tgz rebuilt/pkg-1.0.0.tgz\n' +
        '  reprod diff a.deb b.deb --format html -o report.html\n' +
        '  reprod diff out-1/ out-2/ --format json | jq .summary\n',
    )
    .action(async (a: string, b: string, opts: { format: ReportFormat; output?: string; maxReportBytes: number }) => {
      const report = await diffFiles(a, b, {});
      const color = !opts.output && opts.format === 'text' && process.stdout.isTTY === true && !process.env.NO_COLOR;
      const text = renderReport(report, opts.format, { color, maxBytes: opts.maxReportBytes });
      if (opts.output) {
        await writeFile(opts.output, text);
        process.stderr.write(`${report.identical ? 'identical' : `${report.differences.length} difference(s)`}; report written to ${opts.output}\n`);
      } else {
        process.stdout.write(text);
      }
      process.exitCode = report.identical ? EXIT_OK : EXIT_NEGATIVE;
    });
};
