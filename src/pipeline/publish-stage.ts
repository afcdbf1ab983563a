import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Subject, VerifiedClaim } from '../attest/types.ts';
import type { BuildResult } from '../build/types.ts';
import type { Outcome } from '../compare/types.ts';
import type { BuildPlan } from '../plan/types.ts';
import { publishSubject, type AuditLog, type DirectorySink, type OutputSigner, type Sink } from '../publish/index.ts';
import type { CauseSummary } from '../publish/statements.ts';
import type { RenderedReport } from './report.ts';

/**
 * Signs and publishes one subject's verdict: the VSA, the rebuild provenance,
 * verdict.json, and beside them build.log, the rebuilt artifact and, on a
 * mismatch, report.{json,txt,html}.
 */
export interface PublishContext {
  signer: OutputSigner;
  verifierId: string;
  version: string;
  directory: DirectorySink;
  /** More sinks (webhook …) the daemon adds. */
  sinks?: Sink[];
  audit?: AuditLog;
  /** Digest of the trust policy the claim was verified under. */
  policyDigest: string;
}

export interface SubjectResult {
  jobId: string;
  subject: Subject;
  outcome: Outcome;
  rebuiltSha256?: string;
  rebuiltDigests?: Record<string, string>;
  error?: { code: string; message: string };
  causes?: CauseSummary[];
  report?: RenderedReport;
  /** Rebuilt artifact on the host, and the file name to publish it under. */
  artifact?: { path: string; fileName: string };
  upstreamArtifact?: string;
  plan?: BuildPlan;
  result?: BuildResult;
  notes: string[];
  source?: { repo: string; commit: string; cached: boolean };
  timings: Record<string, number>;
  startedAt: string;
}

/** A plan-shaped record for jobs that failed before a plan existed (provenance needs one). */
export function placeholderPlan(vc: VerifiedClaim, source?: { repo: string; commit: string }): BuildPlan {
  return {
    planVersion: 1,
    rebuilder: 'none',
    source: source ?? { repo: vc.claim.source?.uri ?? '', commit: vc.claim.source?.commit ?? '' },
    image: { ref: '', digest: '' },
    workdir: '',
    hostname: '',
    env: {},
    fetch: [],
    pinned: [],
    build: [],
    outputs: [],
    limits: { timeoutSeconds: 0, fetchTimeoutSeconds: 0, memoryBytes: 0, pids: 0, cpus: 0, logBytes: 0, outputBytes: 0 },
  };
}

export async function publishResult(vc: VerifiedClaim, r: SubjectResult, ctx: PublishContext, signal?: AbortSignal): Promise<{ dir: string; verdict: Record<string, unknown> }> {
  // npm subjects carry only sha512: once the bytes are proven equal, their sha256 is the rebuilt one.
  const subject: Subject = r.subject.sha256 || r.outcome !== 'reproduced' || !r.rebuiltSha256 ? r.subject : { ...r.subject, sha256: r.rebuiltSha256 };
  const dir = ctx.directory.pathFor(subject.sha256);
  const finishedAt = new Date().toISOString();
  const files: Record<string, string> = {};
  if (r.report) Object.assign(files, { 'report.json': r.report.json, 'report.txt': r.report.text, 'report.html': r.report.html });
  const listed: Record<string, string> = { vsa: 'vsa.sigstore.json', provenance: 'rebuild.sigstore.json' };
  // Large files are copied, not held in memory; verdict.json (written last by the sink) marks completion.
  await mkdir(dir, { recursive: true });
  if (r.result?.logPath) {
    await copyFile(r.result.logPath, join(dir, 'build.log'));
    listed.log = 'build.log';
  }
  if (r.artifact) {
    await copyFile(r.artifact.path, join(dir, r.artifact.fileName));
    listed.artifact = r.artifact.fileName;
  }
  if (r.report) Object.assign(listed, { reportJson: 'report.json', reportText: 'report.txt', reportHtml: 'report.html' });
  const plan = r.plan ?? placeholderPlan(vc, r.source);
  const verdict: Record<string, unknown> = {
    verdictVersion: 1,
    jobId: r.jobId,
    outcome: r.outcome,
    subject,
    ...(r.rebuiltSha256 ? { rebuiltSha256: r.rebuiltSha256, rebuiltDigests: r.rebuiltDigests } : {}),
    ...(r.error ? { error: r.error } : {}),
    ...(r.causes ? { causes: r.causes } : {}),
    attestation: vc.attestation,
    signer: vc.signer,
    ...(r.source ? { source: r.source } : {}),
    startedAt: r.startedAt,
    finishedAt,
    timings: r.timings,
    notes: r.notes,
    ...(r.upstreamArtifact ? { upstreamArtifact: r.upstreamArtifact } : {}),
    files: listed,
    plan: r.plan ?? null,
  };
  await publishSubject(
    {
      vsa: {
        verifierId: ctx.verifierId,
        verifierVersion: { reprod: ctx.version },
        timeVerified: finishedAt,
        subject,
        policy: { digest: { sha256: ctx.policyDigest } },
        inputAttestation: { ...(vc.attestation.uri ? { uri: vc.attestation.uri } : {}), sha256: vc.attestation.sha256 },
        outcome: r.outcome,
        ...(r.rebuiltSha256 ? { rebuiltSha256: r.rebuiltSha256 } : {}),
        ...(r.causes ? { causes: r.causes } : {}),
        ...(r.error ? { error: r.error } : {}),
        jobId: r.jobId,
        ...(r.report ? { reportSha256: r.report.sha256 } : {}),
      },
      provenance: {
        builderId: ctx.verifierId,
        builderVersion: { reprod: ctx.version },
        jobId: r.jobId,
        plan,
        subject,
        ...(r.rebuiltSha256 ? { rebuiltSha256: r.rebuiltSha256 } : {}),
        outcome: r.outcome,
        upstream: { ...(vc.attestation.uri ? { uri: vc.attestation.uri } : {}), sha256: vc.attestation.sha256 },
        ...(r.result ? { result: r.result } : { startedOn: r.startedAt, finishedOn: finishedAt }),
        ...(r.report ? { reportSha256: r.report.sha256 } : {}),
      },
      verdict,
      files,
    },
    { signer: ctx.signer, sinks: [ctx.directory, ...(ctx.sinks ?? [])], ...(ctx.audit ? { audit: ctx.audit } : {}), ...(signal ? { signal } : {}) },
  );
  return { dir, verdict };
}
