/**
 * A per-venue token bucket with a two-lane queue: cancels jump ahead of everything else. The venue's
 * own answers override the bucket: a 429 pauses every lane until its Retry-After has passed, a 418 (an
 * IP ban) does the same and marks the venue banned until then.
 *
 * `take(lane)` resolves when the request may go; callers then do the request and, on a 429/418, call
 * `penalize(retryAfterMs, banned)` and take again. Time comes from an injected clock so the logic is
 * testable without sleeping; timers only wake the queue.
 */
export type Lane = "cancel" | "normal";

export interface TokenBucketOptions {
  /** Burst size. */
  capacity: number;
  /** Tokens added per second (ccxt: 1000 / exchange.rateLimit). */
  refillPerSecond: number;
  now?: () => number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

export class TokenBucket {
  private tokens: number;
  private last: number;
  private blockedUntil = 0;
  private banned = false;
  private throttled = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly lanes: Record<Lane, Waiter[]> = { cancel: [], normal: [] };
  private readonly now: () => number;

  constructor(readonly options: TokenBucketOptions) {
    this.now = options.now ?? Date.now;
    this.tokens = options.capacity;
    this.last = this.now();
  }

  private refill(): void {
    const t = this.now();
    const add = ((t - this.last) / 1000) * this.options.refillPerSecond;
    this.tokens = Math.min(this.options.capacity, this.tokens + add);
    this.last = t;
  }

  /** Resolves when a request in `lane` may be sent; cancels are served first. */
  take(lane: Lane = "normal"): Promise<void> {
    if (this.closed) return Promise.reject(new Error("rate limiter closed"));
    this.refill();
    const t = this.now();
    const queued = this.lanes.cancel.length + this.lanes.normal.length;
    if (queued === 0 && t >= this.blockedUntil && this.tokens >= 1) {
      this.tokens -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.lanes[lane].push({ resolve, reject });
      this.schedule();
    });
  }

  /** The venue answered 429 (or 418 when `banned`): nothing goes out for `retryAfterMs`. */
  penalize(retryAfterMs: number, banned = false): void {
    const until = this.now() + Math.max(0, retryAfterMs);
    if (until > this.blockedUntil) this.blockedUntil = until;
    if (banned) this.banned = true;
    this.throttled += 1;
    this.tokens = 0;
    this.schedule();
  }

  private drain(): void {
    this.timer = undefined;
    this.refill();
    const t = this.now();
    if (t >= this.blockedUntil) this.banned = false;
    while (t >= this.blockedUntil && this.tokens >= 1) {
      const next = this.lanes.cancel.shift() ?? this.lanes.normal.shift();
      if (next === undefined) break;
      this.tokens -= 1;
      next.resolve();
    }
    if (this.lanes.cancel.length + this.lanes.normal.length > 0) this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.closed) return;
    const t = this.now();
    const waitBlock = Math.max(0, this.blockedUntil - t);
    const waitToken = this.tokens >= 1 ? 0 : ((1 - this.tokens) / this.options.refillPerSecond) * 1000;
    this.timer = setTimeout(() => this.drain(), Math.ceil(Math.max(waitBlock, waitToken)));
  }

  state() {
    this.refill();
    const t = this.now();
    return {
      tokens: Math.floor(this.tokens * 100) / 100,
      capacity: this.options.capacity,
      refillPerSecond: this.options.refillPerSecond,
      queued: this.lanes.cancel.length + this.lanes.normal.length,
      blockedUntil: this.blockedUntil > t ? this.blockedUntil : 0,
      banned: this.banned && this.blockedUntil > t,
      throttledTotal: this.throttled,
    };
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const err = new Error("rate limiter closed");
    for (const w of [...this.lanes.cancel, ...this.lanes.normal]) w.reject(err);
    this.lanes.cancel = [];
    this.lanes.normal = [];
  }
}

/** Parses a Retry-After header (seconds, or an HTTP date) into ms; `fallbackMs` when absent or bad. */
export function retryAfterMs(header: string | undefined, fallbackMs: number, now = Date.now()): number {
  if (header === undefined || header.trim() === "") return fallbackMs;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? fallbackMs : Math.max(0, date - now);
}
