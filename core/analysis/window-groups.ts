/**
 * The windows of a token stream grouped by hash, for the clone search (duplicates.ts): for every
 * window start `i`, `first[i]` is the first window with the same hash (`i` itself when none is
 * earlier) and `prev[i]` the latest earlier one (-1 when none); both are -1 where no window starts.
 * This is what a hash table filled in position order would answer at `i`, found instead by a stable
 * LSD radix sort of the window starts by hash (3 passes of 11, 11 and 10 bits) that puts equal hashes
 * side by side in position order: sequential passes instead of a cache miss per window in a table of
 * tens of megabytes.
 */
export interface WindowGroups {
  readonly first: Int32Array;
  readonly prev: Int32Array;
}

/** One stable counting-sort pass on the bits of `keys` at `shift` (`counts`: start offset of each digit). */
function scatter(
  src: { keys: Int32Array; pos: Int32Array },
  dst: { keys: Int32Array; pos: Int32Array },
  shift: number,
  mask: number,
  counts: Int32Array,
): void {
  const { keys, pos } = src;
  const m = keys.length;
  for (let i = 0; i < m; i++) {
    const h = keys[i] as number;
    const d = (h >>> shift) & mask;
    const j = counts[d] as number;
    counts[d] = j + 1;
    dst.keys[j] = h;
    dst.pos[j] = pos[i] as number;
  }
}

/** Exclusive prefix sums in place. */
function offsets(counts: Int32Array): Int32Array {
  let sum = 0;
  for (let d = 0; d < counts.length; d++) {
    const c = counts[d] as number;
    counts[d] = sum;
    sum += c;
  }
  return counts;
}

/**
 * Groups the windows starting at `pos` (ascending) with hashes `keys` (same order) in a stream of `n`
 * tokens. `keys` and `pos` are used as scratch space.
 */
export function windowGroups(keys: Int32Array, pos: Int32Array, n: number): WindowGroups {
  const m = keys.length;
  const c0 = new Int32Array(2048);
  const c1 = new Int32Array(2048);
  const c2 = new Int32Array(1024);
  for (let i = 0; i < m; i++) {
    const h = keys[i] as number;
    c0[h & 2047] = (c0[h & 2047] as number) + 1;
    c1[(h >>> 11) & 2047] = (c1[(h >>> 11) & 2047] as number) + 1;
    c2[h >>> 22] = (c2[h >>> 22] as number) + 1;
  }
  const a = { keys, pos };
  const b = { keys: new Int32Array(m), pos: new Int32Array(m) };
  scatter(a, b, 0, 2047, offsets(c0));
  scatter(b, a, 11, 2047, offsets(c1));
  scatter(a, b, 22, 1023, offsets(c2));
  const first = new Int32Array(n).fill(-1);
  const prev = new Int32Array(n).fill(-1);
  let head = -1;
  for (let i = 0; i < m; i++) {
    const p = b.pos[i] as number;
    if (i === 0 || b.keys[i] !== b.keys[i - 1]) head = p;
    else prev[p] = b.pos[i - 1] as number;
    first[p] = head;
  }
  return { first, prev };
}
