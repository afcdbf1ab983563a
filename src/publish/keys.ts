import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ReprodError } from '../errors.ts';

/** File names `reprod keys generate` writes. */
export const PRIVATE_KEY_FILE = 'reprod.key';
export const PUBLIC_KEY_FILE = 'reprod.pub';
/** Group/other permission bits that make a private key file unsafe. */
const UNSAFE_MODE_BITS = 0o077;
const PRIVATE_KEY_MODE = 0o600;
const PUBLIC_KEY_MODE = 0o644;

export interface LoadedKey {
  privateKey: KeyObject;
  publicKeyPem: string;
  keyId: string;
}

/** Key id = hex sha256 of the DER SubjectPublicKeyInfo (stable across PEM formatting). */
export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex');
}

/** Parses an SPKI PEM public key; a key other than ECDSA P-256 is KEY_INVALID. */
export function parsePublicKey(pem: string, source = 'public key'): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    throw new ReprodError('KEY_INVALID', `${source}: not a PEM public key`, { cause: e });
  }
  assertP256(key, source);
  return key;
}

function assertP256(key: KeyObject, source: string): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new ReprodError('KEY_INVALID', `${source}: expected an ECDSA P-256 key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  }
}

/** Writes a new ECDSA P-256 key pair into `dir` and returns its key id. Never overwrites. */
export async function generateKeyFiles(dir: string): Promise<{ keyId: string; privatePath: string; publicPath: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  await mkdir(dir, { recursive: true });
  const privatePath = join(dir, PRIVATE_KEY_FILE);
  const publicPath = join(dir, PUBLIC_KEY_FILE);
  // 'wx' + mode at creation: the private key is never readable by others, not even briefly.
  let fh;
  try {
    fh = await open(privatePath, 'wx', PRIVATE_KEY_MODE);
  } catch (e) {
    const exists = (e as NodeJS.ErrnoException).code === 'EEXIST';
    throw new ReprodError('USAGE', exists ? `${privatePath} already exists; refusing to overwrite a key` : `cannot write ${privatePath}`, { cause: e });
  }
  try {
    await fh.writeFile(privatePem);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await writeFile(publicPath, publicPem, { mode: PUBLIC_KEY_MODE });
  return { keyId: keyIdOf(publicKey), privatePath, publicPath };
}

/** Loads a private key, refusing files that group or others can read or write. */
export async function loadPrivateKey(path: string): Promise<LoadedKey> {
  let mode: number;
  let text: string;
  try {
    mode = (await stat(path)).mode;
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ReprodError('KEY_INVALID', `cannot read private key ${path}`, { cause: e });
  }
  if ((mode & UNSAFE_MODE_BITS) !== 0) {
    throw new ReprodError('KEY_PERMISSIONS', `private key ${path} has mode ${(mode & 0o777).toString(8)}; it must not be accessible by group or others`, {
      details: { path, mode: (mode & 0o777).toString(8) },
    });
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(text);
  } catch (e) {
    throw new ReprodError('KEY_INVALID', `${path}: not a PEM private key`, { cause: e });
  }
  assertP256(privateKey, path);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string, keyId: keyIdOf(publicKey) };
}
