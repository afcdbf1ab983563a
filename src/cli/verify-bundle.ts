import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { publicGoodRoot, readTrustedRoot } from '../attest/trust-material.ts';
import { verifyOneBundle } from '../attest/verify-bundle.ts';
import { ReprodError, isReprodError } from '../errors.ts';
import type { RegisterCommand } from './commands.ts';
import { EXIT_NEGATIVE, EXIT_OK } from './program.ts';

/** Codes that mean "this bundle does not verify" (exit 1) rather than "I could not check" (exit 2). */
const NEGATIVE = new Set(['SIGNATURE_INVALID', 'UNTRUSTED_SIGNER', 'SUBJECT_MISMATCH', 'ATTESTATION_MALFORMED', 'UNSUPPORTED_FORMAT', 'ATTESTATION_TOO_LARGE']);

async function read(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new ReprodError('USAGE', `cannot read ${what} ${path}: ${(e as Error).message}`, { cause: e });
  }
}

export const register: RegisterCommand = (program: Command) => {
  program
    .command('verify-bundle')
    .description(
      'Verify one Sigstore bundle offline: the signature, and for keyless bundles the Fulcio certificate chain, ' +
        'the signed certificate timestamp, the Rekor entry and the certificate identity, against a pinned trusted ' +
        "root (default: Sigstore's public-good root shipped with reprod). With --artifact, a message signature must be " +
        "over the artifact and a DSSE statement must name the artifact's sha256 as a subject.\n" +
        'Exit codes: 0 verified, 1 not verified, 2 bad usage or unreadable input.',
    )
    .argument('<bundle>', 'the bundle file (.sigstore.json)')
    .option('--artifact <file>', 'the signed artifact (required for message-signature bundles)')
    .option('--identity <san>', 'expected certificate identity (exact SAN: an email or a workflow URI)')
    .option('--issuer <url>', 'expected OIDC issuer, e.g. https://token.actions.githubusercontent.com')
    .option('--key <pem>', 'verify with this public key instead of a certificate identity')
    .option('--trusted-root <file>', "trusted_root.json to verify against (default: Sigstore's public-good root)")
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  reprod verify-bundle app.sigstore.json --artifact app --identity https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1 \\\n' +
        '      --issuer https://token.actions.githubusercontent.com\n' +
        '  reprod verify-bundle vsa.sigstore.json --key rebuilder.pub\n',
    )
    .action(async (bundlePath: string, opts: { artifact?: string; identity?: string; issuer?: string; key?: string; trustedRoot?: string }) => {
      if (opts.key && (opts.identity || opts.issuer)) throw new ReprodError('USAGE', 'give either --key or --identity/--issuer, not both');
      if (!opts.key && (!opts.identity || !opts.issuer)) throw new ReprodError('USAGE', 'give --identity and --issuer (keyless), or --key');
      const bundleText = (await read(bundlePath, 'bundle')).toString('utf8');
      const artifact = opts.artifact ? await read(opts.artifact, 'artifact') : undefined;
      const keyPem = opts.key ? (await read(opts.key, 'key')).toString('utf8') : undefined;
      const trustedRoot = opts.trustedRoot ? await readTrustedRoot(opts.trustedRoot) : publicGoodRoot();
      try {
        const signer = verifyOneBundle({
          bundleText,
          trustedRoot,
          ...(artifact ? { artifact } : {}),
          ...(keyPem ? { keyPem } : {}),
          ...(opts.identity ? { identity: opts.identity } : {}),
          ...(opts.issuer ? { issuer: opts.issuer } : {}),
        });
        const who = signer.$case === 'identity' ? `${signer.identity} (${signer.issuer})` : signer.$case === 'key' ? `key ${signer.keyId}` : 'nobody';
        process.stdout.write(`OK: verified, signed by ${who}\n`);
        process.exitCode = EXIT_OK;
      } catch (e) {
        if (!isReprodError(e) || !NEGATIVE.has(e.code)) throw e;
        process.stdout.write(`FAILED [${e.code}]: ${e.message}\n`);
        process.exitCode = EXIT_NEGATIVE;
      }
    });
};
