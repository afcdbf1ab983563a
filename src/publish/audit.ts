import { createHash } from 'node:crypto';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ReprodError } from '../errors.ts';

/**
 * Hash-chained, append-only JSONL audit log of verification events.
 *
 * Each line is one entry whose `hash` is the sha256 of the entry's JSON without
 * the `hash` field, and whose `prev` is the previous entry's `hash` (GENESIS
 * for the first). Editing, deleting or reordering a line breaks the chain at
 * that line. Removing lines from the end cannot be seen from inside the file:
 * compare the head (`seq`, `hash`) with a copy kept elsewhere for that.
 *
 * An append is one write of a whole line followed by fsync, so a crash leaves at
 * most a torn last line without a newline; that entry was never acknowledged.
 */

export const GENESIS = '0'.repeat(64);
/** Longest line the verifier reads; longer ones are a broken log, not a memory problem. */
export const AUDIT_MAX_LINE_BYTES = 1024 * 1024;

export type AuditEventType = 'job-verdict' | 'attestation-verified' | 'attestation-rejected' | 'consumer-verify' | 'torn-tail-dropped';

/** What a caller records; the log adds seq, time, prev and hash. */
export interface AuditEvent {
  type: AuditEventType;
  jobId?: string;
  /** sha256 of the subject artifact. */
  subject?: string;
  outcome?: string;
  /** sha256 of the attestations involved (upstream input, signed outputs). */
  attestations?: string[];
  details?: Record<string, unknown>;
}

export interface AuditEntry extends AuditEvent {
  seq: number;
  time: string;
  prev: string;
  hash: string;
}

function entryHash(withoutHash: Omit<AuditEntry, 'hash'>): string {
  return createHash('sha256').update(JSON.stringify(withoutHash)).digest('hex');
}

/** Builds the entry that follows `prev` (pure; used by the writer and by tests). */
export function nextEntry(prev: { seq: number; hash: string } | undefined, event: AuditEvent, time: string): AuditEntry {
  // Fixed key order: the hash is over this exact serialisation.
  const body: Omit<AuditEntry, 'hash'> = {
    seq: (prev?.seq ?? 0) + 1,
    time,
    prev: prev?.hash ?? GENESIS,
    type: event.type,
    ...(event.jobId !== undefined ? { jobId: event.jobId } : {}),
    ...(event.subject !== undefined ? { subject: event.subject } : {}),
    ...(event.outcome !== undefined ? { outcome: event.outcome } : {}),
    ...(event.attestations !== undefined ? { attestations: event.attestations } : {}),
    ...(event.details !== undefined ? { details: event.details } : {}),
  };
  return { ...body, hash: entryHash(body) };
}

export type AuditCheck =
  | { status: 'ok'; entries: number; head?: { seq: number; hash: string } }
  | { status: 'broken'; line: number; reason: string; entries: number }
  /** The last line has no newline: a crash mid-append. Entries before it are intact. */
  | { status: 'torn'; line: number; entries: number; head?: { seq: number; hash: string } };

/** Checks a whole log's text; reports the first broken link by 1-based line number. */
export function checkAuditText(text: string): AuditCheck {
  if (text === '') return { status: 'ok', entries: 0 };
  const lines = text.split('\n');
  const torn = lines[lines.length - 1] !== '';
  if (!torn) lines.pop();
  let prev: { seq: number; hash: string } | undefined;
  const complete = torn ? lines.length - 1 : lines.length;
  for (let i = 0; i < complete; i++) {
    const problem = checkLine(lines[i]!, prev);
    if (typeof problem === 'string') return { status: 'broken', line: i + 1, reason: problem, entries: i };
    prev = problem;
  }
  if (torn) return { status: 'torn', line: complete + 1, entries: complete, ...(prev ? { head: prev } : {}) };
  return { status: 'ok', entries: complete, ...(prev ? { head: prev } : {}) };
}

function checkLine(line: string, prev: { seq: number; hash: string } | undefined): string | { seq: number; hash: string } {
  if (Buffer.byteLength(line) > AUDIT_MAX_LINE_BYTES) return 'line too long';
  let entry: AuditEntry;
  try {
    entry = JSON.parse(line) as AuditEntry;
  } catch {
    return 'not JSON';
  }
  if (entry === null || typeof entry !== 'object' || typeof entry.hash !== 'string') return 'not an audit entry';
  const { hash, ...rest } = entry;
  if (entryHash(rest) !== hash) return 'entry hash does not match its content (edited)';
  const expectedSeq = (prev?.seq ?? 0) + 1;
  if (entry.seq !== expectedSeq) return `seq ${entry.seq}, expected ${expectedSeq} (line deleted or moved)`;
  if (entry.prev !== (prev?.hash ?? GENESIS)) return 'prev does not match the previous entry (line deleted, moved or edited)';
  return { seq: entry.seq, hash };
}

/** Reads and checks a log file; an unreadable file is AUDIT_LOG_BROKEN with `unreadable` set. */
export async function verifyAuditFile(path: string): Promise<AuditCheck> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ReprodError('AUDIT_LOG_BROKEN', `cannot read audit log ${path}: ${(e as Error).message}`, { cause: e, details: { unreadable: true } });
  }
  return checkAuditText(text);
}

/**
 * The writer. One per file and process (appends are serialised here; use one
 * writer process per file). Opening a log whose tail is torn drops the torn
 * bytes and records that in the chain as a `torn-tail-dropped` entry.
 */
export class AuditLog {
  readonly path: string;
  #fh: FileHandle;
  #head: { seq: number; hash: string } | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  /** Set when a write failed: the tail may be torn, so further appends would break the chain. */
  #failed: unknown;
  readonly #now: () => Date;

  private constructor(path: string, fh: FileHandle, head: { seq: number; hash: string } | undefined, now: () => Date) {
    this.path = path;
    this.#fh = fh;
    this.#head = head;
    this.#now = now;
  }

  /** Opens (creating) a log; a broken chain is refused with AUDIT_LOG_BROKEN. */
  static async open(path: string, options: { now?: () => Date } = {}): Promise<AuditLog> {
    const fh = await open(path, 'a+', 0o640);
    try {
      // A new file's directory entry must be durable too, or the first fsynced entries can vanish.
      const dir = await open(dirname(path), 'r');
      await dir.sync().finally(() => dir.close());
      const text = (await fh.readFile('utf8')) as string;
      const check = checkAuditText(text);
      if (check.status === 'broken') {
        throw new ReprodError('AUDIT_LOG_BROKEN', `audit log ${path} is broken at line ${check.line}: ${check.reason}`, { details: { line: check.line } });
      }
      const log = new AuditLog(path, fh, check.head, options.now ?? (() => new Date()));
      if (check.status === 'torn') {
        const keep = text.lastIndexOf('\n') + 1;
        const dropped = Buffer.from(text.slice(keep), 'utf8');
        await fh.truncate(Buffer.byteLength(text.slice(0, keep), 'utf8'));
        await fh.sync();
        await log.append({
          type: 'torn-tail-dropped',
          details: { line: check.line, bytes: dropped.length, sha256: createHash('sha256').update(dropped).digest('hex') },
        });
      }
      return log;
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  get head(): { seq: number; hash: string } | undefined {
    return this.#head;
  }

  /** Appends one event durably (write + fsync) and returns the entry written. */
  append(event: AuditEvent): Promise<AuditEntry> {
    const run = this.#queue.then(async () => {
      if (this.#failed !== undefined) {
        throw new ReprodError('AUDIT_LOG_BROKEN', `audit log ${this.path}: an earlier append failed; reopen the log`, { cause: this.#failed, retryable: true });
      }
      const entry = nextEntry(this.#head, event, this.#now().toISOString());
      // 'a' mode: every write goes to the end, in one call for the whole line.
      try {
        await this.#fh.write(`${JSON.stringify(entry)}\n`);
        await this.#fh.sync();
      } catch (e) {
        this.#failed = e;
        throw new ReprodError('AUDIT_LOG_BROKEN', `cannot append to audit log ${this.path}: ${(e as Error).message}`, { cause: e, retryable: true });
      }
      this.#head = { seq: entry.seq, hash: entry.hash };
      return entry;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.#queue;
    await this.#fh.close();
  }
}
