/**
 * Directory feed: every file that appears in a folder is an attestation (any
 * format intake knows). The cursor is the change time of the last file handled
 * plus the names handled at that time, so a restart skips what was read and
 * picks up everything newer — including files moved in with an old mtime (a
 * rename updates ctime). Writers should write then rename; dot files and files
 * younger than SETTLE_MS are left for the next scan.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_ATTESTATION_BYTES } from '../../attest/limits.ts';
import { ReprodError } from '../../errors.ts';
import type { Feed, FeedDeps } from './types.ts';

export const SETTLE_MS = 300;

interface DirCursor {
  t: number;
  names: string[];
}

export interface DirectoryFeedOptions {
  name: string;
  path: string;
  intervalMs: number;
}

/** Files not yet handled, oldest first (pure: unit-testable). */
export function pendingFiles(files: { name: string; t: number }[], cursor: DirCursor | undefined): { name: string; t: number }[] {
  const done = new Set(cursor?.names ?? []);
  return files
    .filter((f) => cursor === undefined || f.t > cursor.t || (f.t === cursor.t && !done.has(f.name)))
    .sort((a, b) => a.t - b.t || a.name.localeCompare(b.name));
}

export class DirectoryFeed implements Feed {
  readonly name: string;
  readonly #o: DirectoryFeedOptions;
  readonly #deps: FeedDeps;
  #timer: NodeJS.Timeout | undefined;
  #watcher: FSWatcher | undefined;
  #polling: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(options: DirectoryFeedOptions, deps: FeedDeps) {
    this.name = options.name;
    this.#o = options;
    this.#deps = deps;
  }

  start(): void {
    this.#stopped = false;
    const tick = (): void => {
      if (this.#stopped) return;
      void this.poll().finally(() => {
        if (!this.#stopped) this.#timer = setTimeout(tick, this.#o.intervalMs);
      });
    };
    tick();
    try {
      this.#watcher = watch(this.#o.path, () => void this.poll());
      this.#watcher.on('error', () => undefined);
    } catch {
      // Polling alone still works (e.g. the folder does not exist yet).
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#watcher?.close();
    await this.#polling;
  }

  /** One scan; overlapping calls coalesce into one more scan after the current one. */
  poll(): Promise<void> {
    if (this.#polling) {
      this.#again = true;
      return this.#polling;
    }
    this.#polling = (async () => {
      do {
        this.#again = false;
        await this.#scan().catch((e: unknown) => this.#deps.onError(this.name, `scan ${this.#o.path}`, e));
      } while (this.#again && !this.#stopped);
    })().finally(() => {
      this.#polling = undefined;
    });
    return this.#polling;
  }

  async #scan(): Promise<void> {
    const raw = await this.#deps.store.getCursor(this.name);
    let cursor = raw ? (JSON.parse(raw) as DirCursor) : undefined;
    const entries = await readdir(this.#o.path, { withFileTypes: true });
    const files: { name: string; t: number }[] = [];
    for (const e of entries) {
      if (!e.isFile() || e.name.startsWith('.') || e.name.endsWith('.tmp')) continue;
      const st = await stat(join(this.#o.path, e.name)).catch(() => undefined);
      if (st) files.push({ name: e.name, t: Math.floor(Math.max(st.mtimeMs, st.ctimeMs)) });
    }
    const now = Date.now();
    for (const f of pendingFiles(files, cursor)) {
      if (this.#stopped) return;
      if (now - f.t < SETTLE_MS) {
        this.#again = true;
        await new Promise((r) => setTimeout(r, SETTLE_MS));
        return;
      }
      const path = join(this.#o.path, f.name);
      try {
        const st = await stat(path);
        if (st.size > MAX_ATTESTATION_BYTES) {
          throw new ReprodError('ATTESTATION_TOO_LARGE', `${f.name} is ${st.size} bytes, over ${MAX_ATTESTATION_BYTES}`);
        }
        await this.#deps.submit(new Uint8Array(await readFile(path)), { uri: path, source: this.name });
      } catch (e) {
        // A bad file is reported once and skipped: retrying it every scan would not fix it.
        if (e instanceof ReprodError && e.code === 'STORE_ERROR') throw e;
        this.#deps.onError(this.name, f.name, e);
      }
      cursor = cursor && cursor.t === f.t ? { t: f.t, names: [...cursor.names, f.name] } : { t: f.t, names: [f.name] };
      await this.#deps.store.setCursor(this.name, JSON.stringify(cursor));
    }
  }
}
