import { randomUUID } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Subject, VerifiedClaim } from '../attest/types.ts';
import type { BuildResult } from '../build/types.ts';
import type { SubjectVerdict } from '../compare/types.ts';
import { isReprodError, ReprodError, toReprodError } from '../errors.ts';
import { InputCache } from '../inputs/cache.ts';
import { fetchSource } from '../inputs/source.ts';
import { jobLogger } from '../log/logger.ts';
import type { BuildPlan } from '../plan/types.ts';
import { artifactFileName, digestsOfFile, expectedDigests, findUpstreamArtifact } from './artifacts.ts';
import { downloadVerified } from '../inputs/download.ts';
import { runBuild } from './build-stage.ts';
import { compareSubject } from './compare-stage.ts';
import type { RebuildContext } from './context.ts';
import { makePlan, pickRebuilder } from './plan-stage.ts';
import { prepareDebian } from './debian-stage.ts';
import { TOOLCHAIN_DRIFT_NOTE } from '../../rebuilders/debian/toolchain.ts';
import { StageClock, type OnProgress } from './progress.ts';
import { publishResult, type SubjectResult } from './publish-stage.ts';

/**
 * The rebuild pipeline, one attestation at a time:
 * verify → fetch (source at the pinned commit) → plan → build → compare → sign.
 * A thin orchestrator: each stage lives in its own module. Failures before the
 * claim is verified throw (nothing trustworthy to sign about); after that,
 * every subject ends with a signed verdict, `error` ones included.
 */
export interface RebuildOptions {
  signal?: AbortSignal;
  jobId?: string;
  onProgress?: OnProgress;
  /** Rebuild only the subject with this name or sha256. */
  subject?: string;
  /** Where the attestation came from (path/URL), for the VSA and reports. */
  uri?: string;
  /** Folder holding the upstream artifacts (default: the attestation's folder, when `uri` is a path). */
  artifactDir?: string;
}

export interface JobVerdict extends SubjectVerdict {
  jobId: string;
  /** The folder holding verdict.json, the signed attestations, the log and reports. */
  dir: string;
  verdict: Record<string, unknown>;
}

export async function rebuildAttestation(bytes: Uint8Array, ctx: RebuildContext, opts: RebuildOptions = {}): Promise<JobVerdict[]> {
  const clock = new StageClock(opts.onProgress);
  const claims = await clock.run('verify', () => ctx.intake(bytes, opts.uri));
  const vsa = claims.find((vc) => vc.claim.kind === 'vsa');
  if (vsa) {
    throw new ReprodError('UNSUPPORTED_PREDICATE', `the attestation is a verification summary by ${vsa.claim.vsa?.verifierId ?? 'someone'}, not build provenance: there is nothing to rebuild`);
  }
  const verdicts: JobVerdict[] = [];
  for (const [i, vc] of claims.entries()) {
    const subjects = vc.claim.subjects.filter((s) => opts.subject === undefined || s.name === opts.subject || s.sha256 === opts.subject);
    if (subjects.length === 0) continue;
    const jobId = opts.jobId ? (claims.length > 1 ? `${opts.jobId}-${i}` : opts.jobId) : randomUUID();
    verdicts.push(...(await rebuildClaim(vc, subjects, ctx, { ...opts, jobId }, clock.timings.verify ?? 0)));
  }
  if (verdicts.length === 0 && opts.subject !== undefined) {
    throw new ReprodError('NOT_FOUND', `the attestation has no subject named ${JSON.stringify(opts.subject)}`);
  }
  return verdicts;
}

/** The start of a build log (tool-version markers come early; logs may be large). */
async function logHead(path: string, bytes = 1 << 20): Promise<string> {
  try {
    const fh = await open(path, 'r');
    try {
      const { buffer, bytesRead } = await fh.read(Buffer.alloc(bytes), 0, bytes, 0);
      return buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

function errorOf(e: unknown): { code: string; message: string } {
  const err = toReprodError(e);
  return { code: err.code, message: err.message };
}

async function rebuildClaim(vc: VerifiedClaim, subjects: Subject[], ctx: RebuildContext, opts: RebuildOptions & { jobId: string }, verifyMs: number): Promise<JobVerdict[]> {
  const { jobId } = opts;
  const log = jobLogger(ctx.logger, jobId);
  const clock = new StageClock(opts.onProgress);
  const startedAt = new Date().toISOString();
  const jobDir = join(ctx.dataDir, 'jobs', jobId);
  const notes: string[] = [];
  const artifactDir = opts.artifactDir ?? (opts.uri && !/^[a-z]+:\/\//.test(opts.uri) ? dirname(opts.uri) : undefined);
  const results = new Map<Subject, Partial<SubjectResult>>(subjects.map((s) => [s, {}]));
  let plan: BuildPlan | undefined;
  let result: BuildResult | undefined;
  let source: SubjectResult['source'];
  try {
    const { rebuilder, source: ref } = pickRebuilder(vc);
    log.info({ rebuilder: rebuilder.name, repo: ref.repo, commit: ref.commit }, 'rebuild started');
    // Debian sources are source packages on a mirror, not git: their own inputs stage (pinned by the signed Sources index).
    const debian = rebuilder.name === 'debian' ? await clock.run('fetch', () => prepareDebian(vc, ctx, { ...(opts.signal ? { signal: opts.signal } : {}), logger: log, onProgress: (m) => clock.info('fetch', m) })) : undefined;
    const fetched = debian ? { dir: debian.dir, cached: debian.cached, meta: { commitTime: debian.facts.changelogEpoch } } : await clock.run('fetch', () =>
      fetchSource(ref, ctx.sourcePolicy, new InputCache(ctx.dataDir), {
        maxBytes: ctx.config.limits.sourceBytes,
        ...(opts.signal ? { signal: opts.signal } : {}),
        onProgress: (p) => clock.info('fetch', p.message),
      }),
    );
    source = { repo: ref.repo, commit: debian?.facts.dscSha256 ?? ref.commit, cached: fetched.cached };
    const planned = await makePlan(vc, rebuilder, fetched.meta.commitTime, { config: ctx.config, resolveImage: ctx.resolveImage, ...(opts.signal ? { signal: opts.signal } : {}), ...(debian ? { debian: debian.facts } : {}) });
    plan = planned.plan;
    notes.push(...(plan.notes ?? []));
    // A published file that is not what the attestation claims is refused before any build.
    for (const s of subjects) {
      const out = plan.outputs.find((o) => o.name === s.name);
      try {
        let up = await findUpstreamArtifact(s, artifactDir, out?.path);
        const tarball = planned.facts.npm?.tarball;
        // npm: without a local copy, the published tarball itself (checked against the claimed digests).
        if (!up && tarball) up = await clock.run('fetch', () => downloadVerified(tarball, expectedDigests(s), new InputCache(ctx.dataDir), opts.signal), s.name);
        // Debian: the published .deb from the pool folder of its source package.
        // Best effort: without it the comparison is by digest alone; a file with other bytes is still refused.
        if (!up && debian) {
          up = await clock
            .run('fetch', () => downloadVerified(`${debian.poolUrl}/${s.name}`, expectedDigests(s), new InputCache(ctx.dataDir), opts.signal), s.name)
            .catch((e: unknown) => {
              if (isReprodError(e, 'FETCH_FAILED')) return undefined;
              throw e;
            });
        }
        if (up) results.get(s)!.upstreamArtifact = up;
      } catch (e) {
        results.get(s)!.error = errorOf(e);
      }
    }
    if ([...results.values()].some((r) => !r.error)) {
      await mkdir(jobDir, { recursive: true });
      const built = plan;
      result = await clock.run('build', () =>
        runBuild(built, {
          docker: ctx.docker,
          jobId,
          sourceDir: fetched.dir,
          jobDir,
          fetchNetwork: ctx.config.docker.fetchNetwork,
          logger: log,
          ...(opts.signal ? { signal: opts.signal } : {}),
          onProgress: (m) => clock.info('build', m),
        }),
      );
      if (rebuilder.notesAfterBuild) notes.push(...rebuilder.notesAfterBuild(planned.facts, await logHead(result.logPath, 8 << 20)));
      // Build tools differing from the upstream build's: a cause the diff report names beside the byte-level ones.
      const drift = notes.filter((n) => n.startsWith(TOOLCHAIN_DRIFT_NOTE)).map((n) => n.slice(TOOLCHAIN_DRIFT_NOTE.length));
      for (const [s, r] of results) {
        if (r.error) continue;
        try {
          const c = await clock.run('compare', () => compareSubject(s, result!.outputs.find((o) => o.name === s.name), r.upstreamArtifact, { ...(opts.signal ? { signal: opts.signal } : {}), ...(drift.length ? { drift } : {}) }), s.name);
          Object.assign(r, {
            outcome: c.outcome,
            rebuiltSha256: c.rebuiltDigests.sha256,
            rebuiltDigests: c.rebuiltDigests,
            artifact: { path: c.rebuilt.path, fileName: artifactFileName(s) },
            ...(c.report ? { report: c.report, causes: c.causes } : {}),
          });
        } catch (e) {
          r.error = errorOf(e);
        }
      }
    }
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    const err = errorOf(e);
    log.warn({ code: err.code, message: err.message }, 'rebuild failed');
    for (const r of results.values()) r.error ??= err;
  }
  try {
    const verdicts: JobVerdict[] = [];
    for (const [s, r] of results) {
      const outcome = r.error ? 'error' : (r.outcome ?? 'error');
      let subject = s;
      // A subject named only by sha512 (npm) is published under the upstream file's sha256 when we have it.
      if (!subject.sha256 && r.upstreamArtifact) subject = { ...s, sha256: (await digestsOfFile(r.upstreamArtifact, ['sha256'])).sha256! };
      const full: SubjectResult = {
        ...r,
        jobId,
        subject,
        outcome,
        notes,
        ...(plan ? { plan } : {}),
        ...(result ? { result } : {}),
        ...(source ? { source } : {}),
        timings: { verify: verifyMs, ...clock.timings },
        startedAt,
      };
      const published = await clock.run(
        'sign',
        () => publishResult(vc, full, { ...ctx.publish }, opts.signal),
        s.name,
      );
      log.info({ subject: s.name, outcome, dir: published.dir }, 'verdict published');
      verdicts.push({
        jobId,
        subject,
        outcome,
        ...(full.rebuiltSha256 ? { rebuiltSha256: full.rebuiltSha256 } : {}),
        ...(full.error ? { error: full.error } : {}),
        dir: published.dir,
        verdict: published.verdict,
      });
    }
    return verdicts;
  } finally {
    await rm(jobDir, { recursive: true, force: true });
  }
}
