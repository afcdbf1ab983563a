/**
 * Optional Rekor upload of the signed outputs (`daemon.rekorUrl`): each published
 * DSSE bundle is logged as an `intoto` entry under the daemon's signing key.
 * Keyless signing already logs in Rekor while signing, so this is for key-signed
 * outputs. Runs inside the publish step, so a job is logged once.
 */
import { bundleFromJSON, type SerializedBundle } from '@sigstore/bundle';
import { RekorWitness } from '@sigstore/sign';
import { ReprodError } from '../errors.ts';

export class RekorUploader {
  readonly #witness: RekorWitness;
  readonly #publicKeyPem: string;
  readonly #origin: string;

  constructor(url: string, publicKeyPem: string) {
    this.#witness = new RekorWitness({ rekorBaseURL: url, entryType: 'intoto', retry: 2, timeout: 15_000 });
    this.#publicKeyPem = publicKeyPem;
    this.#origin = new URL(url).origin;
  }

  /** Logs each bundle; returns the log indexes. */
  async upload(bundles: SerializedBundle[], jobId?: string): Promise<string[]> {
    const indexes: string[] = [];
    for (const b of bundles) {
      try {
        const bundle = bundleFromJSON(b);
        const { tlogEntries } = await this.#witness.testify(bundle.content, this.#publicKeyPem);
        indexes.push(...tlogEntries.map((e) => String(e.logIndex)));
      } catch (e) {
        throw new ReprodError('PUBLISH_FAILED', `Rekor ${this.#origin} refused an attestation: ${(e as Error).message}`, { cause: e, retryable: true, ...(jobId ? { jobId } : {}) });
      }
    }
    return indexes;
  }
}
