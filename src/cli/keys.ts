import type { Command } from 'commander';
import { generateKeyFiles, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE } from '../publish/keys.ts';
import type { RegisterCommand } from './commands.ts';

/** `reprod keys generate --out DIR`: the local signing key of a rebuilder. */
export const register: RegisterCommand = (program: Command) => {
  const keys = program.command('keys').description('Manage the local key reprod signs its attestations with');
  keys
    .command('generate')
    .description(
      `Create an ECDSA P-256 key pair: ${PRIVATE_KEY_FILE} (PKCS#8 PEM, mode 0600) and ${PUBLIC_KEY_FILE} (SPKI PEM).\n` +
        'Prints the key id (hex sha256 of the DER public key); consumers name your key in their policy by its .pub file.',
    )
    .requiredOption('--out <dir>', 'folder to write the key pair to (created if missing; existing keys are never overwritten)')
    .option('--json', 'print {keyId, privateKey, publicKey} as JSON', false)
    .addHelpText('after', '\nExample:\n  reprod keys generate --out ./keys\n  # then in the config:  signing: { key: ./keys/reprod.key }\n')
    .action(async (opts: { out: string; json: boolean }) => {
      const r = await generateKeyFiles(opts.out);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ keyId: r.keyId, privateKey: r.privatePath, publicKey: r.publicPath })}\n`);
      } else {
        process.stdout.write(`${r.keyId}\n`);
        process.stderr.write(`wrote ${r.privatePath} (keep it secret) and ${r.publicPath} (give it to consumers)\n`);
      }
    });
};
