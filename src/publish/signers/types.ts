import type { Signer, Witness } from '@sigstore/sign';

/** What signs reprod's outputs: a Sigstore signer plus the witnesses (Rekor, TSA) that countersign. */
export interface OutputSigner {
  kind: 'key' | 'keyless';
  /** For logs and `--help`-level messages: which key or service signs. */
  description: string;
  /** Set for `key`: the key id written as the bundle's public-key hint. */
  keyId?: string;
  signer: Signer;
  witnesses: Witness[];
}
