import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring, type Slot } from '../../src/compare/ring.ts';

test('pending arena: live entries keep their bytes; the oldest are evicted first; freed space is reused', () => {
  const ring = new Ring(64 * 1024);
  // A deterministic mix of sizes and out-of-order frees, checked against what each live entry was given.
  let seed = 42;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  const live: { slot: Slot; fill: number; order: number }[] = [];
  let order = 0;
  let evictions = 0;
  for (let i = 0; i < 5_000; i++) {
    if (live.length && rand(3) === 0) {
      const [e] = live.splice(rand(live.length), 1);
      ring.free(e!.slot);
      continue;
    }
    const len = 1 + rand(rand(10) === 0 ? 30_000 : 3_000);
    const slot = ring.alloc(len);
    assert.ok(slot, `alloc ${len}`);
    const fill = i % 251;
    ring.bytes(slot).fill(fill);
    live.push({ slot, fill, order: order++ });
    for (let k = live.length - 1; k >= 0; k--) {
      const e = live[k]!;
      if (e.slot.evicted) {
        // Only entries older than every surviving one are evicted.
        assert.ok(live.every((o) => o.slot.evicted || o.order > e.order), 'evicted out of order');
        live.splice(k, 1);
        evictions++;
        continue;
      }
      const b = ring.bytes(e.slot);
      const ok = i % 50 === 0 ? b.every((x) => x === e.fill) : b[0] === e.fill && b[b.length >> 1] === e.fill && b[b.length - 1] === e.fill;
      assert.ok(ok, `entry ${e.order} overwritten`);
    }
  }
  assert.ok(evictions > 100, `evictions: ${evictions}`);
  assert.equal(ring.alloc(40 * 1024), undefined, 'an entry over half the arena is never held');
  assert.equal(ring.alloc(0), undefined);
});
