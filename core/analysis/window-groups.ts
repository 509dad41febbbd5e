/**
 * The windows of a token stream grouped by hash, for the clone search (duplicates.ts): for every
 * window start `i` with an earlier window of the same hash, `first(i)` is the first of them and
 * `prev(i)` the latest; a window without an earlier copy, or a position where no window starts, has
 * no entry. This is what a hash table filled in position order would answer at `i`. One big table costs a cache
 * miss per window (tens of megabytes for a large corpus), so the windows are first split by the top
 * 11 bits of their hash (a stable counting sort: position order is kept within a bucket) and each
 * bucket, a few hundred windows on average, is grouped in a small table that stays in cache.
 */

const TOP_BITS = 11;
const GOLDEN = 0x9e3779b1;

/**
 * Groups the windows of `w` tokens of a stream of files laid end to end (file f's tokens from
 * `offsets[f]` to `offsets[f + 1]`; a window never crosses a file end), once per set of hashes: the
 * type-1 and type-2 passes have the same windows, so the buffers serve both (fresh memory is paid
 * for in page faults, a few microseconds a page: the buffers are made once).
 */
export class WindowGrouper {
  /** How many windows there are: keys passed to `group` hold one hash per window, in stream order. */
  readonly count: number;
  private readonly sortedKeys: Int32Array;
  private readonly sortedPos: Int32Array;
  private links: Int32Array | undefined;

  constructor(
    private readonly n: number,
    private readonly offsets: Int32Array,
    private readonly w: number,
  ) {
    let m = 0;
    for (let f = 0; f + 1 < offsets.length; f++) {
      const len = (offsets[f + 1] as number) - (offsets[f] as number);
      if (len >= w) m += len - w + 1;
    }
    this.count = m;
    this.sortedKeys = new Int32Array(m);
    this.sortedPos = new Int32Array(m);
  }

  /**
   * The groups of the windows with hashes `keys` (in stream order): `links[2p]` = first(p) + 1,
   * `links[2p + 1]` = prev(p) + 1 for the window starting at token p, 0 where p has no entry. The
   * same array every call (cleared): the previous call's links are gone. One table sized for the
   * largest bucket serves every bucket: no branch in the loop that a short run's optimised code
   * would not have seen yet (V8 throws such code away when it is first taken).
   */
  group(keys: Int32Array): Int32Array {
    let links = this.links;
    if (links === undefined) links = this.links = new Int32Array(2 * this.n);
    else links.fill(0);
    const start = this.sortByBucket(keys);
    let largest = 0;
    for (let d = 0; d + 1 < start.length; d++)
      largest = Math.max(largest, (start[d + 1] as number) - (start[d] as number));
    this.groupBuckets(start, largest, links);
    return links;
  }

  /**
   * Sorts the windows into sortedKeys/sortedPos by the top bits of their hash (stable: position
   * order within a bucket); where each bucket starts, one extra entry at the end.
   */
  private sortByBucket(keys: Int32Array): Int32Array {
    const { offsets, w, sortedKeys, sortedPos } = this;
    const m = keys.length;
    const shift = 32 - TOP_BITS;
    const buckets = 1 << TOP_BITS;
    const start = new Int32Array(buckets + 1);
    for (let i = 0; i < m; i++) {
      const d = ((keys[i] as number) >>> shift) + 1;
      start[d] = (start[d] as number) + 1;
    }
    for (let d = 1; d <= buckets; d++) start[d] = (start[d] as number) + (start[d - 1] as number);
    const next = start.slice(0, buckets);
    for (let f = 0, i = 0; f + 1 < offsets.length; f++) {
      const hi = (offsets[f + 1] as number) - w;
      for (let p = offsets[f] as number; p <= hi; p++, i++) {
        const h = keys[i] as number;
        const d = h >>> shift;
        const j = next[d] as number;
        next[d] = j + 1;
        sortedKeys[j] = h;
        sortedPos[j] = p;
      }
    }
    return start;
  }

  /**
   * Each bucket's windows through one open-addressing table, at most half full for the largest
   * bucket; the slots of bucket d carry stamp d + 1 (a new bucket needs no clearing).
   */
  private groupBuckets(start: Int32Array, largest: number, links: Int32Array): void {
    const { sortedKeys, sortedPos } = this;
    let bits = 4;
    while (1 << bits < 2 * largest) bits++;
    const mask = (1 << bits) - 1;
    const slotShift = 32 - bits;
    const hash = new Int32Array(mask + 1);
    const first = new Int32Array(mask + 1);
    const last = new Int32Array(mask + 1);
    const stamp = new Int32Array(mask + 1);
    for (let d = 0; d + 1 < start.length; d++) {
      const mark = d + 1;
      const hi = start[d + 1] as number;
      for (let i = start[d] as number; i < hi; i++) {
        const h = sortedKeys[i] as number;
        const p = sortedPos[i] as number;
        let s = Math.imul(h, GOLDEN) >>> slotShift;
        while (stamp[s] === mark && hash[s] !== h) s = (s + 1) & mask;
        if (stamp[s] !== mark) {
          // The first of its hash: no entry (most windows are unique, and each entry is a cache miss).
          stamp[s] = mark;
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
}
