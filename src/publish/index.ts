/** The publish stage: statements, signing, sinks, audit log, consumer verification. */
export { vsaStatement, rebuildProvenance, type Statement, type VsaInput, type ProvenanceInput, type CauseSummary } from './statements.ts';
export { signStatement, INTOTO_PAYLOAD_TYPE } from './sign.ts';
export { createSigner, keySigner, keylessSigner, type OutputSigner } from './signers/index.ts';
export { generateKeyFiles, loadPrivateKey, keyIdOf, parsePublicKey } from './keys.ts';
export { DirectorySink, writeFileAtomic, VSA_FILE, PROVENANCE_FILE, VERDICT_FILE } from './sinks/directory.ts';
export { WebhookSink } from './sinks/webhook.ts';
export type { Publication, Sink } from './sinks/types.ts';
export { publishSubject, type PublishSubjectInput, type PublishDeps } from './publish.ts';
export { AuditLog, verifyAuditFile, checkAuditText, type AuditEvent, type AuditEntry, type AuditCheck } from './audit.ts';
export { evaluate, readAttestations, sha256File, type ConsumerResult } from './consumer.ts';
export { loadConsumerPolicy, type ConsumerPolicy } from './policy.ts';
export { parseDsseBundle, verifyStatementBundle, parseTrustedRoot, type ExpectedSigner } from './verify-bundle.ts';
