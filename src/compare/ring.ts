/**
 * A fixed arena for the bodies of members seen on one side but not yet on the
 * other. Entries are placed in order and evicted oldest first when space runs
 * out: archives in the same order match within a few entries, so the arena
 * turns over without allocating, and an evicted body can be read again later.
 */
export interface Slot {
  readonly start: number;
  readonly len: number;
  /** Overwritten by newer entries: the body is gone. */
  evicted: boolean;
  /** Released by its owner; its space is reused once older entries go too. */
  freed: boolean;
}

export class Ring {
  #buf: Buffer | undefined;
  #size: number;
  #queue: Slot[] = [];
  #front = 0;
  #head = 0;

  constructor(size: number) {
    this.#size = size;
  }

  /** Space for `len` bytes, evicting the oldest entries as needed; undefined when it can never fit. */
  alloc(len: number): Slot | undefined {
    if (len === 0 || len > this.#size / 2) return undefined;
    this.#buf ??= Buffer.allocUnsafe(this.#size);
    for (;;) {
      this.#dropFreed();
      if (this.#front === this.#queue.length) {
        this.#queue.length = 0;
        this.#front = 0;
        this.#head = 0;
        return this.#place(len);
      }
      const tail = this.#queue[this.#front]!.start;
      if (tail < this.#head) {
        // Live region [tail, head): free space after head, then before tail.
        if (this.#head + len <= this.#size) return this.#place(len);
        if (len <= tail) {
          this.#head = 0;
          return this.#place(len);
        }
      } else if (this.#head + len <= tail) {
        // Wrapped: live [tail, end) and [0, head); free space between.
        return this.#place(len);
      }
      const old = this.#queue[this.#front++]!;
      old.evicted = true;
    }
  }

  /** The slot's bytes (valid while it is neither evicted nor freed). */
  bytes(s: Slot): Buffer {
    return this.#buf!.subarray(s.start, s.start + s.len);
  }

  free(s: Slot): void {
    s.freed = true;
    this.#dropFreed();
  }

  #place(len: number): Slot {
    const s: Slot = { start: this.#head, len, evicted: false, freed: false };
    this.#head += len;
    this.#queue.push(s);
    return s;
  }

  #dropFreed(): void {
    while (this.#front < this.#queue.length && (this.#queue[this.#front]!.freed || this.#queue[this.#front]!.evicted)) this.#front++;
    if (this.#front > 1024 && this.#front * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#front);
      this.#front = 0;
    }
  }
}
