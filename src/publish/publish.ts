import { createHash } from 'node:crypto';
import type { AuditLog } from './audit.ts';
import { signStatement } from './sign.ts';
import type { OutputSigner } from './signers/types.ts';
import type { Publication, Sink } from './sinks/types.ts';
import { rebuildProvenance, vsaStatement, type ProvenanceInput, type VsaInput } from './statements.ts';

export interface PublishSubjectInput {
  vsa: VsaInput;
  provenance: ProvenanceInput;
  /** The plain verdict written beside the attestations (verdict.json). */
  verdict: unknown;
  files?: Record<string, string | Uint8Array>;
}

export interface PublishDeps {
  signer: OutputSigner;
  sinks: Sink[];
  audit?: AuditLog;
  signal?: AbortSignal;
}

function sha256Json(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

/**
 * Signs both statements of one subject, hands them to every sink, then records
 * the event in the audit log. Any failure throws (SIGNING_FAILED,
 * PUBLISH_FAILED, AUDIT_LOG_BROKEN): a job whose verdict could not be signed
 * and published must not be reported as done.
 */
export async function publishSubject(input: PublishSubjectInput, deps: PublishDeps): Promise<Publication> {
  const jobId = input.provenance.jobId;
  const vsa = await signStatement(vsaStatement(input.vsa), deps.signer);
  const provenance = await signStatement(rebuildProvenance(input.provenance), deps.signer);
  const publication: Publication = {
    jobId,
    subject: input.vsa.subject,
    outcome: input.vsa.outcome,
    vsa,
    provenance,
    verdict: input.verdict,
    ...(input.files ? { files: input.files } : {}),
  };
  for (const sink of deps.sinks) await sink.publish(publication, deps.signal);
  await deps.audit?.append({
    type: 'job-verdict',
    jobId,
    subject: input.vsa.subject.sha256,
    outcome: input.vsa.outcome,
    // Upstream input first, then the two signed outputs (sha256 of their bundle JSON).
    attestations: [input.vsa.inputAttestation.sha256, sha256Json(vsa), sha256Json(provenance)],
    details: { sinks: deps.sinks.map((s) => s.name), signer: deps.signer.description },
  });
  return publication;
}
