/**
 * A fixed-window rolling sum (and sum of squares) over a ring buffer. The running sums are rebuilt
 * from the buffer every `window × 64` pushes, so float drift never accumulates over long series.
 */
export class RollingWindow {
  private readonly buf: Float64Array;
  private n = 0;
  private head = 0;
  private sum = 0;
  private sumSq = 0;
  private sinceResync = 0;
  private readonly resyncEvery: number;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`window must be a positive integer, got ${size}`);
    this.buf = new Float64Array(size);
    this.resyncEvery = size * 64;
  }

  push(x: number): void {
    if (this.n === this.size) {
      const old = this.buf[this.head] as number;
      this.sum -= old;
      this.sumSq -= old * old;
    } else {
      this.n++;
    }
    this.buf[this.head] = x;
    this.head = this.head + 1 === this.size ? 0 : this.head + 1;
    this.sum += x;
    this.sumSq += x * x;
    if (++this.sinceResync >= this.resyncEvery) this.resync();
  }

  private resync(): void {
    let s = 0;
    let q = 0;
    for (let i = 0; i < this.n; i++) {
      const v = this.buf[i] as number;
      s += v;
      q += v * v;
    }
    this.sum = s;
    this.sumSq = q;
    this.sinceResync = 0;
  }

  get full(): boolean {
    return this.n === this.size;
  }
  get count(): number {
    return this.n;
  }
  mean(): number {
    return this.sum / this.n;
  }
  /** Population standard deviation of the window. */
  std(): number {
    const m = this.sum / this.n;
    const v = this.sumSq / this.n - m * m;
    return v > 0 ? Math.sqrt(v) : 0;
  }
  /** The value pushed `lag` pushes ago (0 = the last one); requires lag < count. */
  back(lag: number): number {
    let i = this.head - 1 - lag;
    if (i < 0) i += this.size;
    return this.buf[i] as number;
  }
}
