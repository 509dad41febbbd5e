/**
 * Rolling estimates of daily volatility and correlation from bar closes of one timeframe. Returns are
 * simple close-to-close returns of consecutive bars (a gap restarts the chain); volatility is scaled to
 * one day by √(bars per day). A symbol enters the correlation matrix once it has `minReturns` returns;
 * a pair with fewer overlapping returns than that cannot be estimated, so the symbol with the most such
 * gaps leaves the matrix (the pre-trade check then treats it conservatively).
 */
export interface Estimates {
  volatility: Record<string, number>;
  symbols: string[];
  correlation: number[][];
}

interface Series {
  lastTs: number;
  lastClose: number;
  /** Ring buffers of return timestamps and values, oldest first from `start`. */
  ts: Float64Array;
  r: Float64Array;
  start: number;
  count: number;
}

const DAY_MS = 86_400_000;

export class ReturnWindows {
  private readonly series = new Map<string, Series>();

  constructor(
    readonly periodMs: number,
    readonly capacity = 500,
    readonly minReturns = 10,
  ) {
    if (!(periodMs > 0)) throw new RangeError(`period must be positive, got ${periodMs}`);
    if (!(capacity >= minReturns && minReturns >= 2)) throw new RangeError("capacity ≥ minReturns ≥ 2");
  }

  /**
   * Records the close of the bar opening at `ts`. A repeated bar replaces its close (redelivery, or a
   * bar updated before it closed); an older bar is ignored. Returns true when the estimates changed.
   */
  addClose(symbol: string, ts: number, close: number): boolean {
    if (!(close > 0) || !Number.isFinite(ts)) return false;
    let s = this.series.get(symbol);
    if (s === undefined) {
      s = {
        lastTs: ts,
        lastClose: close,
        ts: new Float64Array(this.capacity),
        r: new Float64Array(this.capacity),
        start: 0,
        count: 0,
      };
      this.series.set(symbol, s);
      return false;
    }
    if (ts < s.lastTs) return false;
    if (ts === s.lastTs) {
      if (close === s.lastClose) return false;
      // Replace the last bar: recompute its return from the bar before, when there is one.
      if (s.count > 0) {
        const lastIdx = (s.start + s.count - 1) % this.capacity;
        if (s.ts[lastIdx] === ts) {
          const prev = s.lastClose / (1 + (s.r[lastIdx] as number));
          s.r[lastIdx] = close / prev - 1;
        }
      }
      s.lastClose = close;
      return true;
    }
    const contiguous = ts - s.lastTs === this.periodMs;
    if (contiguous) {
      const idx = (s.start + s.count) % this.capacity;
      s.ts[idx] = ts;
      s.r[idx] = close / s.lastClose - 1;
      if (s.count < this.capacity) s.count++;
      else s.start = (s.start + 1) % this.capacity;
    }
    s.lastTs = ts;
    s.lastClose = close;
    return contiguous;
  }

  /** The returns of a symbol, oldest first. */
  returns(symbol: string): { ts: number[]; r: number[] } {
    const s = this.series.get(symbol);
    const out = { ts: [] as number[], r: [] as number[] };
    if (s === undefined) return out;
    for (let k = 0; k < s.count; k++) {
      const i = (s.start + k) % this.capacity;
      out.ts.push(s.ts[i] as number);
      out.r.push(s.r[i] as number);
    }
    return out;
  }

  /** Daily volatility of a symbol, or undefined below `minReturns` returns. */
  volatility(symbol: string): number | undefined {
    const { r } = this.returns(symbol);
    if (r.length < this.minReturns) return undefined;
    return sampleSd(r) * Math.sqrt(DAY_MS / this.periodMs);
  }

  estimates(): Estimates {
    const volatility: Record<string, number> = {};
    const eligible: { symbol: string; ts: number[]; r: number[] }[] = [];
    for (const symbol of this.series.keys()) {
      const ret = this.returns(symbol);
      if (ret.r.length < this.minReturns) continue;
      volatility[symbol] = sampleSd(ret.r) * Math.sqrt(DAY_MS / this.periodMs);
      eligible.push({ symbol, ...ret });
    }
    eligible.sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
    const n = eligible.length;
    const rho: (number | undefined)[][] = eligible.map(() =>
      new Array<number | undefined>(n).fill(undefined),
    );
    for (let i = 0; i < n; i++) {
      (rho[i] as (number | undefined)[])[i] = 1;
      for (let j = 0; j < i; j++) {
        const c = pairCorrelation(eligible[i] as Aligned, eligible[j] as Aligned, this.minReturns);
        (rho[i] as (number | undefined)[])[j] = c;
        (rho[j] as (number | undefined)[])[i] = c;
      }
    }
    const keep = eligible.map(() => true);
    for (;;) {
      let worst = -1;
      let worstGaps = 0;
      for (let i = 0; i < n; i++) {
        if (!keep[i]) continue;
        let gaps = 0;
        for (let j = 0; j < n; j++) if (keep[j] && rho[i]?.[j] === undefined) gaps++;
        if (
          gaps > worstGaps ||
          (gaps === worstGaps && gaps > 0 && (eligible[i]?.r.length ?? 0) < (eligible[worst]?.r.length ?? 0))
        ) {
          worst = i;
          worstGaps = gaps;
        }
      }
      if (worst < 0) break;
      keep[worst] = false;
    }
    const idx = eligible.map((_, i) => i).filter((i) => keep[i]);
    return {
      volatility,
      symbols: idx.map((i) => (eligible[i] as Aligned & { symbol: string }).symbol),
      correlation: idx.map((i) => idx.map((j) => rho[i]?.[j] ?? 0)),
    };
  }
}

interface Aligned {
  ts: number[];
  r: number[];
}

/** Pearson correlation over the timestamps both series have; undefined below `min` common returns. */
function pairCorrelation(a: Aligned, b: Aligned, min: number): number | undefined {
  let i = 0;
  let j = 0;
  let n = 0;
  let sa = 0;
  let sb = 0;
  let saa = 0;
  let sbb = 0;
  let sab = 0;
  while (i < a.ts.length && j < b.ts.length) {
    const ta = a.ts[i] as number;
    const tb = b.ts[j] as number;
    if (ta < tb) i++;
    else if (tb < ta) j++;
    else {
      const x = a.r[i] as number;
      const y = b.r[j] as number;
      n++;
      sa += x;
      sb += y;
      saa += x * x;
      sbb += y * y;
      sab += x * y;
      i++;
      j++;
    }
  }
  if (n < min) return undefined;
  const cov = sab - (sa * sb) / n;
  const va = saa - (sa * sa) / n;
  const vb = sbb - (sb * sb) / n;
  if (!(va > 0 && vb > 0)) return 0;
  return Math.max(-1, Math.min(1, cov / Math.sqrt(va * vb)));
}

function sampleSd(x: readonly number[]): number {
  let m = 0;
  for (const v of x) m += v;
  m /= x.length;
  let s = 0;
  for (const v of x) s += (v - m) * (v - m);
  return Math.sqrt(s / (x.length - 1));
}
