import type { Command } from 'commander';
import { isReprodError } from '../errors.ts';
import { verifyAuditFile } from '../publish/audit.ts';
import type { RegisterCommand } from './commands.ts';
import { EXIT_ERROR, EXIT_NEGATIVE, EXIT_OK } from './program.ts';

/** `reprod audit verify FILE`: checks the hash chain of an audit log. */
export const register: RegisterCommand = (program: Command) => {
  const audit = program.command('audit').description('Inspect the hash-chained audit log of verification events');
  audit
    .command('verify')
    .description(
      "Check every link of an audit log (JSONL, one entry per line, each holding the previous entry's sha256). " +
        'Reports the first broken link by line number. A torn last line (a crash mid-append) is reported as such.\n' +
        'Exit codes: 0 intact, 1 broken or torn, 2 unreadable.',
    )
    .argument('<file>', 'the audit log, e.g. <dataDir>/audit.jsonl')
    .option('--json', 'print the result as JSON', false)
    .addHelpText('after', '\nExample:\n  reprod audit verify .reprod/audit.jsonl\n')
    .action(async (file: string, opts: { json: boolean }) => {
      let check;
      try {
        check = await verifyAuditFile(file);
      } catch (e) {
        if (!isReprodError(e, 'AUDIT_LOG_BROKEN')) throw e;
        if (opts.json) process.stdout.write(`${JSON.stringify({ status: 'unreadable', file, message: e.message })}\n`);
        else process.stderr.write(`error[${e.code}]: ${e.message}\n`);
        process.exitCode = EXIT_ERROR;
        return;
      }
      if (opts.json) process.stdout.write(`${JSON.stringify({ file, ...check })}\n`);
      switch (check.status) {
        case 'ok':
          if (!opts.json) {
            const head = check.head ? `; head seq ${check.head.seq} sha256 ${check.head.hash}` : '';
            process.stdout.write(`ok: ${check.entries} entries intact${head}\n`);
          }
          process.exitCode = EXIT_OK;
          break;
        case 'broken':
          if (!opts.json) process.stdout.write(`BROKEN at line ${check.line}: ${check.reason} (${check.entries} entries before it are intact)\n`);
          process.exitCode = EXIT_NEGATIVE;
          break;
        case 'torn':
          if (!opts.json) {
            process.stdout.write(
              `TORN last line ${check.line}: incomplete entry (crash mid-append); the ${check.entries} entries before it are intact.\n` +
                'Opening the log for writing drops the torn bytes and records that in the chain.\n',
            );
          }
          process.exitCode = EXIT_NEGATIVE;
          break;
      }
    });
};
