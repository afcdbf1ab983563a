/**
 * A throw-away OpenPGP key made with Debian's gpg in a temporary home, for
 * signing test archives (InRelease, .dsc, .buildinfo). Never a real key.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';


export interface TestKey {
  /** The public key as a binary keyring file, for gpgv --keyring. */
  keyring: string;
  /** The public key ASCII-armoured, as a .asc keyring. */
  armoredKeyring: string;
  fingerprint: string;
  /** Clear-signs text with this key. */
  clearsign(text: string): Promise<string>;
  /** Detached, armoured signature over data. */
  detachSign(data: string | Buffer): Promise<string>;
  cleanup(): Promise<void>;
}

export async function makeTestKey(name = 'reprod test archive'): Promise<TestKey> {
  const home = await mkdtemp(join(tmpdir(), 'reprod-gpg-'));
  const gpg = (args: string[], input?: string) => gpgRun(home, args, input);
  await gpg(['--quick-gen-key', '--passphrase', '', '--pinentry-mode', 'loopback', `${name} <test@example.invalid>`, 'ed25519', 'sign', '1y']);
  const listing = await gpg(['--with-colons', '--list-keys']);
  const fingerprint = listing.split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9]!;
  const keyring = join(home, 'public.gpg');
  const armoredKeyring = join(home, 'public.asc');
  await gpg(['--output', keyring, '--export', fingerprint]);
  await gpg(['--armor', '--output', armoredKeyring, '--export', fingerprint]);
  return {
    keyring,
    armoredKeyring,
    fingerprint,
    clearsign: (text) => gpg(['--clearsign', '--digest-algo', 'SHA512', '--local-user', fingerprint], text),
    detachSign: async (data) => {
      const file = join(home, 'data');
      await writeFile(file, data);
      return gpg(['--armor', '--detach-sign', '--local-user', fingerprint, '--output', '-', file]);
    },
    cleanup: () => rm(home, { recursive: true, force: true }),
  };
}

function gpgRun(home: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('gpg', ['--homedir', home, '--batch', '--quiet', ...args], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`gpg ${args[0]} failed: ${stderr}`, { cause: err }));
      else resolve(String(stdout));
    });
    // gpg may exit without reading stdin (key generation): that is not an error
    child.stdin!.on('error', () => {});
    child.stdin!.end(input ?? '');
  });
}
