import { sign } from 'node:crypto';
import type { Signature, Signer } from '@sigstore/sign';
import type { LoadedKey } from '../keys.ts';

/**
 * A Sigstore `Signer` over a local ECDSA P-256 key. The bundle carries only the
 * key id as a hint: verifiers look the public key up in their own policy.
 */
export class KeySigner implements Signer {
  readonly #key: LoadedKey;

  constructor(key: LoadedKey) {
    this.#key = key;
  }

  get keyId(): string {
    return this.#key.keyId;
  }

  async sign(data: Buffer): Promise<Signature> {
    return {
      signature: sign('sha256', data, this.#key.privateKey),
      key: { $case: 'publicKey', publicKey: this.#key.publicKeyPem, hint: this.#key.keyId },
    };
  }
}
