/**
 * Publishes a finished job, called by the store inside the transaction that
 * completes the job (after the lease check): moves the staged files into
 * `<out>/<sha256>/` (each file renamed in atomically, verdict.json last), posts
 * the webhook events, and appends the verdict to the hash-chained audit log.
 */
import { copyFile, mkdir, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../log/logger.ts';
import type { AuditLog } from '../publish/audit.ts';
import { VERDICT_FILE } from '../publish/sinks/directory.ts';
import type { Job } from '../store/types.ts';
import type { WebhookNotifier } from './notify.ts';
import type { RekorUploader } from './rekor.ts';
import type { JobResult } from './runner.ts';

const REPORT_FILES = ['report.json', 'report.html'];

export interface PublisherOptions {
  outDir: string;
  /** Per-job copies of the diff reports: `<reportsDir>/<job id>.{json,html}`. */
  reportsDir: string;
  audit?: AuditLog;
  webhook?: WebhookNotifier;
  rekor?: RekorUploader;
  /** Jobs the audit log already has a verdict for (read at start-up); see auditedJobs(). */
  audited?: Set<string>;
  logger: Logger;
}

/**
 * Job ids with a `job-verdict` entry in an audit log. A crash between publishing and
 * committing re-runs the job; this keeps its verdict in the log once.
 */
export async function auditedJobs(path: string): Promise<Set<string>> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.includes('"job-verdict"')) continue;
    try {
      const e = JSON.parse(line) as { type?: string; jobId?: string };
      if (e.type === 'job-verdict' && e.jobId) out.add(e.jobId);
    } catch {
      // A torn last line: AuditLog.open deals with it.
    }
  }
  return out;
}

/** A regression: the artifact's previous verdict was `reproduced`, this one is not. */
export function isRegression(previousOutcome: string | undefined, outcome: string): boolean {
  return previousOutcome === 'reproduced' && outcome === 'not-reproduced';
}

export class Publisher {
  readonly #o: PublisherOptions;

  constructor(options: PublisherOptions) {
    this.#o = options;
  }

  get outDir(): string {
    return this.#o.outDir;
  }

  /** Folder of an artifact's published files. */
  dirFor(sha256: string): string {
    return join(this.#o.outDir, sha256.replace(':', '-'));
  }

  /** The report files a staged folder holds (`report.json`, `report.html`). */
  static async stagedReports(stagedDir: string | undefined): Promise<string[]> {
    if (!stagedDir) return [];
    const names = await readdir(stagedDir).catch(() => [] as string[]);
    return REPORT_FILES.filter((n) => names.includes(n));
  }

  /** Path of a job's report (`json` or `html`). */
  reportPath(jobId: string, ext: 'json' | 'html'): string {
    return join(this.#o.reportsDir, `${jobId}.${ext}`);
  }

  async publish(job: Job, attempt: number, result: JobResult, previousOutcome: string | undefined, signal?: AbortSignal): Promise<void> {
    if (result.stagedDir) {
      await mkdir(this.#o.reportsDir, { recursive: true });
      for (const name of await Publisher.stagedReports(result.stagedDir)) {
        const ext = name === 'report.json' ? 'json' : 'html';
        const tmp = `${this.reportPath(job.id, ext)}.${process.pid}.tmp`;
        await copyFile(join(result.stagedDir, name), tmp);
        await rename(tmp, this.reportPath(job.id, ext));
      }
      await this.#promote(result.stagedDir, this.dirFor(job.subject.sha256));
    }
    const regression = isRegression(previousOutcome, result.outcome);
    let rekor: string[] = [];
    if (this.#o.rekor && result.publications?.length) {
      rekor = await this.#o.rekor.upload(result.publications.flatMap((p) => [p.vsa, p.provenance]), job.id);
    }
    if (this.#o.webhook) {
      const base = {
        jobId: job.id,
        attempt,
        subject: job.subject,
        outcome: result.outcome,
        attestationSha256: job.attestationSha256,
        ...(previousOutcome !== undefined ? { previousOutcome } : {}),
        ...(result.details?.verdict !== undefined ? { verdict: result.details.verdict } : {}),
        ...(result.publications?.[0] ? { attestations: { vsa: result.publications[0].vsa, provenance: result.publications[0].provenance } } : {}),
      };
      await this.#o.webhook.send({ event: 'verdict', ...base }, signal);
      if (regression) await this.#o.webhook.send({ event: 'regression', ...base }, signal);
    }
    if (this.#o.audited?.has(job.id)) {
      this.#o.logger.warn({ jobId: job.id }, 'the audit log already holds this job\'s verdict (crash during an earlier publish): not appended again');
    } else {
      await this.#o.audit?.append({
        type: 'job-verdict',
        jobId: job.id,
        subject: job.subject.sha256,
        outcome: result.outcome,
        attestations: [job.attestationSha256],
        details: { attempt, ...(regression ? { regression: true } : {}), ...(rekor.length ? { rekorLogIndexes: rekor } : {}), ...(result.error ? { error: result.error.code } : {}) },
      });
      this.#o.audited?.add(job.id);
    }
    this.#o.logger.info({ jobId: job.id, subject: job.subject.name, outcome: result.outcome, regression }, 'verdict published');
  }

  /** Copies each staged file next to its target and renames it in: readers never see half a file. */
  async #promote(from: string, to: string): Promise<void> {
    await mkdir(to, { recursive: true });
    const names = (await readdir(from)).filter((n) => !n.startsWith('.'));
    names.sort((a, b) => Number(a === VERDICT_FILE) - Number(b === VERDICT_FILE) || a.localeCompare(b));
    for (const name of names) {
      const src = join(from, name);
      if (!(await stat(src)).isFile()) continue;
      const tmp = join(to, `.${name}.${process.pid}.tmp`);
      await copyFile(src, tmp);
      await rename(tmp, join(to, name));
    }
    await rm(from, { recursive: true, force: true });
    // The attempt's staging folder, once its last subject is promoted.
    await rmdir(dirname(from)).catch(() => undefined);
  }
}
