/**
 * The clock port: where time comes from. Paper trading uses one clock for the venue (orders, fills,
 * positions) and its feed, so every timestamp of a paper run is on the same time base; tests and
 * replays pass their own.
 */
export interface Clock {
  /** Integer UTC milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * Paper trading's one clock: the simulated market's time. The feed draws one bar of `barMs` every
 * `tickMs` of wall-clock time and moves the clock to the bar's close (`advance`); between two ticks the
 * clock runs on at the market's pace (`barMs / tickMs` times the wall clock) without reaching the next
 * close, so an order placed between bars is stamped after the last close and before the next one, and
 * time never goes backwards. Before the first bar it reads the wall clock.
 */
export class MarketClock implements Clock {
  private close: number | undefined;
  private closeSeenAt = 0;
  private last = 0;

  constructor(
    private readonly barMs: number,
    private readonly tickMs: number,
    private readonly wall: Clock = systemClock,
  ) {}

  /** The close time of the bar just drawn. */
  advance(barClose: number): void {
    if (this.close !== undefined && barClose <= this.close) return;
    this.close = barClose;
    this.closeSeenAt = this.wall.now();
  }

  now(): number {
    let t: number;
    if (this.close === undefined) t = this.wall.now();
    else {
      const elapsed = Math.max(0, this.wall.now() - this.closeSeenAt);
      const ahead = Math.floor((elapsed * this.barMs) / this.tickMs);
      t = this.close + Math.min(ahead, this.barMs - 1);
    }
    if (t < this.last) t = this.last;
    this.last = t;
    return t;
  }
}
