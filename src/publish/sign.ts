import { bundleToJSON, type SerializedBundle } from '@sigstore/bundle';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { ReprodError } from '../errors.ts';
import type { OutputSigner } from './signers/types.ts';
import type { Statement } from './statements.ts';

/** DSSE payload type of an in-toto statement. */
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/**
 * Signs an in-toto statement as a DSSE envelope in a Sigstore bundle (v0.3)
 * and returns the bundle's JSON form. A failure is SIGNING_FAILED and
 * retryable when it came from a network service: a signing failure must never
 * be swallowed while the result is still published.
 */
export async function signStatement(statement: Statement, signer: OutputSigner): Promise<SerializedBundle> {
  const builder = new DSSEBundleBuilder({ signer: signer.signer, witnesses: signer.witnesses });
  try {
    const bundle = await builder.create({ data: Buffer.from(JSON.stringify(statement), 'utf8'), type: INTOTO_PAYLOAD_TYPE });
    return bundleToJSON(bundle);
  } catch (e) {
    if (e instanceof ReprodError) throw e;
    const cause = (e as { cause?: unknown }).cause;
    if (cause instanceof ReprodError) throw cause;
    throw new ReprodError('SIGNING_FAILED', `signing with ${signer.description} failed: ${(e as Error).message}`, {
      cause: e,
      retryable: signer.kind === 'keyless',
    });
  }
}
