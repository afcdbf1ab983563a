import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { ReprodError } from '../errors.ts';
import { ProgressDisplay } from './progress-display.ts';
import type { RegisterCommand } from './commands.ts';
import { EXIT_ERROR, EXIT_NEGATIVE, EXIT_OK } from './program.ts';
import type { JobVerdict } from '../pipeline/rebuild.ts';

/** Default output folder of `reprod rebuild`. */
export const DEFAULT_OUT_DIR = 'out';

export function exitCodeFor(verdicts: JobVerdict[]): number {
  if (verdicts.some((v) => v.outcome === 'error')) return EXIT_ERROR;
  if (verdicts.some((v) => v.outcome === 'not-reproduced')) return EXIT_NEGATIVE;
  return EXIT_OK;
}

/** The human summary: one block per subject. */
export function formatVerdicts(verdicts: JobVerdict[]): string {
  return verdicts
    .map((v) => {
      const lines = [`${v.outcome.toUpperCase().padEnd(15)} ${v.subject.name}`];
      lines.push(`  claimed  ${v.subject.sha256 || JSON.stringify(v.subject.digest)}`);
      if (v.rebuiltSha256) lines.push(`  rebuilt  ${v.rebuiltSha256}`);
      if (v.error) lines.push(`  error[${v.error.code}]: ${v.error.message}`);
      lines.push(`  output   ${v.dir}`);
      if (v.outcome === 'not-reproduced') lines.push(`  report   ${v.dir}/report.txt (and report.html)`);
      return lines.join('\n');
    })
    .join('\n');
}

export const register: RegisterCommand = (program: Command, cli) => {
  program
    .command('rebuild')
    .description('Verify an attestation, rebuild its artifacts from source in a hermetic container, compare the bytes and sign the verdict (a VSA + rebuild provenance per subject)')
    .argument('<attestation>', 'attestation file: Sigstore bundle (v0.1-v0.3), DSSE envelope, in-toto JSONL, npm attestations or a Debian .buildinfo; or debian:SRC[=VERSION][/ARCH][@SUITE] to rebuild a package of the signed Debian archive')
    .option('-c, --config <file>', 'config file (YAML); defaults apply without one')
    .option('--trust-key <pem>', 'public key (PEM) whose signatures are trusted; repeatable; adds to trust.keys', (v: string, acc: string[] = []) => [...acc, v])
    .option('--signing-key <pem>', 'private key (PEM, mode 0600) that signs the verdicts; overrides signing.key')
    .option('-o, --out <dir>', 'output folder: <dir>/<subject sha256>/{verdict.json, vsa.sigstore.json, rebuild.sigstore.json, build.log, …}', DEFAULT_OUT_DIR)
    .option('--artifacts <dir>', "folder with the upstream artifacts, for SUBJECT_MISMATCH checks and diff reports (default: the attestation's folder)")
    .option('--subject <name>', 'rebuild only the subject with this name or sha256')
    .addOption(new Option('--json', 'print the verdicts as JSON on stdout (progress stays on stderr)').default(false))
    .addHelpText(
      'after',
      '\nExit codes: 0 every subject reproduced, 1 some not reproduced, 2 error (coded, e.g. error[SOURCE_COMMIT_NOT_FOUND]).\n' +
        'Failures after the attestation is verified still get a signed failure VSA.\n\n' +
        'Example:\n' +
        '  reprod keys generate keys/\n' +
        '  reprod rebuild release.sigstore.json --trust-key upstream.pub --signing-key keys/reprod.key --out out/\n' +
        '  cat out/*/verdict.json\n' +
        '  reprod rebuild debian:hello=2.10-3/amd64     # .debs and digests from the archive\'s signed indices (docs/debian.md)',
    )
    .action(async (attestation: string, opts: { config?: string; trustKey?: string[]; signingKey?: string; out: string; artifacts?: string; subject?: string; json: boolean }) => {
      const loaded = loadConfig(opts.config);
      let bytes: Buffer;
      // debian:SRC=VER/ARCH names a package of the signed archive instead of a file
      const { debianRequestBytes } = await import('./debian-request.ts');
      const request = await debianRequestBytes(attestation, loaded);
      try {
        bytes = request ?? (await readFile(attestation));
      } catch (e) {
        throw new ReprodError('USAGE', `cannot read attestation ${attestation}`, { cause: e });
      }
      // Loaded on use: the pipeline pulls in Docker, git and Sigstore, which other commands don't need.
      const { wireContext } = await import('../pipeline/wire.ts');
      const { rebuildAttestation } = await import('../pipeline/rebuild.ts');
      const ctx = await wireContext({
        loaded,
        logger: cli.logger(),
        outDir: opts.out,
        trustKeys: (opts.trustKey ?? []).map((k) => resolve(k)),
        ...(opts.signingKey ? { signingKey: opts.signingKey } : {}),
      });
      const display = new ProgressDisplay();
      const abort = new AbortController();
      const onSignal = () => abort.abort(new ReprodError('INTERNAL', 'interrupted'));
      process.once('SIGINT', onSignal);
      let verdicts: JobVerdict[];
      try {
        verdicts = await rebuildAttestation(bytes, ctx, {
          signal: abort.signal,
          onProgress: display.handle,
          uri: request ? attestation : resolve(attestation),
          ...(opts.artifacts ? { artifactDir: resolve(opts.artifacts) } : {}),
          ...(opts.subject ? { subject: opts.subject } : {}),
        });
      } finally {
        display.stop();
        process.off('SIGINT', onSignal);
      }
      if (opts.json) process.stdout.write(`${JSON.stringify(verdicts.map(({ verdict, ...v }) => ({ ...v, verdict })), null, 2)}\n`);
      else process.stdout.write(`${formatVerdicts(verdicts)}\n`);
      process.exitCode = exitCodeFor(verdicts);
    });
};
