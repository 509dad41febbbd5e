/**
 * The windows of a token stream grouped by hash, for the clone search (duplicates.ts): for every
 * window start `i` with an earlier window of the same hash, `first(i)` is the first of them and
 * `prev(i)` the latest; a window without an earlier copy, or a position where no window starts, has
 * no entry. This is what a hash table filled in position order would answer at `i`. One big table costs a cache
 * miss per window (tens of megabytes for a large corpus), so the windows are first split by the top
 * 11 bits of their hash (a stable counting sort: position order is kept within a bucket) and each
 * bucket, a few hundred windows on average, is grouped with a small table that stays in cache.
 */

const TOP_BITS = 11;
const GOLDEN = 0x9e3779b1;

/** Groups one bucket's windows at a time with a small open-addressing table, reused. */
class BucketTable {
  private hash = new Int32Array(1024);
  private first = new Int32Array(1024);
  private last = new Int32Array(1024);
  /** 1 where a slot is taken. */
  private used = new Uint8Array(1024);

  /** Groups the windows (`keys`/`pos` in [lo, hi), positions ascending) into `links`. */
  group(keys: Int32Array, pos: Int32Array, lo: number, hi: number, links: Int32Array): void {
    let bits = 4;
    while (1 << bits < 2 * (hi - lo)) bits++;
    const size = 1 << bits;
    if (size > this.used.length) {
      this.hash = new Int32Array(size);
      this.first = new Int32Array(size);
      this.last = new Int32Array(size);
      this.used = new Uint8Array(size);
    } else {
      this.used.fill(0, 0, size);
    }
    const { hash, first, last, used } = this;
    const shift = 32 - bits;
    const mask = size - 1;
    for (let i = lo; i < hi; i++) {
      const h = keys[i] as number;
      const p = pos[i] as number;
      let s = Math.imul(h, GOLDEN) >>> shift;
      while (used[s] === 1 && hash[s] !== h) s = (s + 1) & mask;
      if (used[s] === 0) {
        // The first of its hash: no entry (most windows are unique, and each entry is a cache miss).
        used[s] = 1;
        hash[s] = h;
        first[s] = p;
      } else {
        links[2 * p] = (first[s] as number) + 1;
        links[2 * p + 1] = (last[s] as number) + 1;
      }
      last[s] = p;
    }
  }
}

/**
 * Groups windows of a stream of `n` tokens by hash, once per set of hashes (the type-1 and type-2
 * passes have the same window starts `pos`, ascending, so the buffers serve both).
 */
export class WindowGrouper {
  private readonly sortedKeys: Int32Array;
  private readonly sortedPos: Int32Array;
  private readonly table = new BucketTable();

  constructor(
    private readonly n: number,
    private readonly pos: Int32Array,
  ) {
    this.sortedKeys = new Int32Array(pos.length);
    this.sortedPos = new Int32Array(pos.length);
  }

  /**
   * The groups of the windows at `pos` with hashes `keys` (same order): `links[2i]` = first(i) + 1,
   * `links[2i + 1]` = prev(i) + 1, 0 where `i` has no entry. A fresh array (zero pages) per call.
   */
  group(keys: Int32Array): Int32Array {
    const links = new Int32Array(2 * this.n);
    const { pos, sortedKeys, sortedPos } = this;
    const m = keys.length;
    const shift = 32 - TOP_BITS;
    const start = new Int32Array((1 << TOP_BITS) + 1);
    for (let i = 0; i < m; i++) {
      const d = ((keys[i] as number) >>> shift) + 1;
      start[d] = (start[d] as number) + 1;
    }
    for (let d = 1; d < start.length; d++) start[d] = (start[d] as number) + (start[d - 1] as number);
    const next = start.slice(0, 1 << TOP_BITS);
    for (let i = 0; i < m; i++) {
      const h = keys[i] as number;
      const d = h >>> shift;
      const j = next[d] as number;
      next[d] = j + 1;
      sortedKeys[j] = h;
      sortedPos[j] = pos[i] as number;
    }
    for (let d = 0; d < 1 << TOP_BITS; d++) {
      const lo = start[d] as number;
      const hi = start[d + 1] as number;
      if (hi > lo) this.table.group(sortedKeys, sortedPos, lo, hi, links);
    }
    return links;
  }
}
