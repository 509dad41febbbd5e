import { describe, expect, it } from "vitest";
import { Candle, OrderBook } from "../domain/market.ts";
import { bookFromCandle, createMarketSimulator, simulateCandles, tickerFromCandle } from "./simulator.ts";

const calm = {
  regimes: [{ name: "only", drift_annual: 0, vol_scale: 1, mean_duration_days: 1 }],
  jumps: { per_year: 0, mean_log: 0, std_log: 0 },
};

function logReturns(candles: Candle[]): number[] {
  return candles.map((c) => Math.log(c.close / c.open));
}
function variance(xs: number[]): number {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length;
}
function lag1Autocorrelation(xs: number[]): number {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    const d = (xs[i] as number) - m;
    den += d * d;
    if (i > 0) num += d * ((xs[i - 1] as number) - m);
  }
  return num / den;
}
function excessKurtosis(xs: number[]): number {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = variance(xs);
  return xs.reduce((a, b) => a + (b - m) ** 4, 0) / xs.length / (v * v) - 3;
}

describe("market simulator", () => {
  it("is deterministic per seed and differs across seeds", () => {
    const a = simulateCandles({ seed: 42, timeframe: "5m" }, 500);
    const b = simulateCandles({ seed: 42, timeframe: "5m" }, 500);
    const c = simulateCandles({ seed: 43, timeframe: "5m" }, 500);
    expect(b).toEqual(a);
    expect(c.at(-1)?.close).not.toBe(a.at(-1)?.close);
    expect(simulateCandles({ seed: "btc" }, 10)).toEqual(simulateCandles({ seed: "btc" }, 10));
  });

  it("produces valid, contiguous candles that open at the previous close", () => {
    const candles = simulateCandles({ seed: 3, timeframe: "1h", start: Date.UTC(2024, 0, 1, 0, 17) }, 2_000);
    expect(candles[0]?.ts).toBe(Date.UTC(2024, 0, 1, 0, 0));
    for (let i = 0; i < candles.length; i++) {
      const c = candles[i] as Candle;
      expect(Candle.safeParse(c).success).toBe(true);
      if (i > 0) {
        const prev = candles[i - 1] as Candle;
        expect(c.ts - prev.ts).toBe(3_600_000);
        expect(c.open).toBe(prev.close);
      }
    }
  });

  it("matches its target annualised volatility (±5 %) and clusters volatility through GARCH", () => {
    const bars = 200_000;
    const r = logReturns(simulateCandles({ ...calm, seed: 11, annual_vol: 0.6 }, bars));
    const annual_vol = Math.sqrt(variance(r) * 525_600);
    expect(Math.abs(annual_vol - 0.6) / 0.6).toBeLessThan(0.05);
    // GARCH(1,1) with α=0.06, β=0.92: squared returns are autocorrelated; with α=0 (constant vol) they are not.
    const clustered = lag1Autocorrelation(r.map((x) => x * x));
    const flat = logReturns(simulateCandles({ ...calm, seed: 11, garch: { alpha: 0, beta: 0 } }, bars));
    expect(clustered).toBeGreaterThan(0.05);
    expect(Math.abs(lag1Autocorrelation(flat.map((x) => x * x)))).toBeLessThan(0.02);
  });

  it("adds fat tails through jumps", () => {
    const base = { ...calm, seed: 5, garch: { alpha: 0, beta: 0 } };
    const without = logReturns(simulateCandles(base, 100_000));
    const withJumps = logReturns(
      simulateCandles({ ...base, jumps: { per_year: 5_000, mean_log: 0, std_log: 0.01 } }, 100_000),
    );
    expect(Math.abs(excessKurtosis(without))).toBeLessThan(0.1);
    expect(excessKurtosis(withJumps)).toBeGreaterThan(3);
  });

  it("switches between regimes and reports the regime of each bar", () => {
    const sim = createMarketSimulator({ seed: 9, timeframe: "1h" });
    const seen = new Set<string>();
    for (let i = 0; i < 24 * 365; i++) seen.add(sim.next().regime);
    expect([...seen].sort()).toEqual(["bear", "bull", "range"]);
  });

  it("rejects bad parameters with a message", () => {
    expect(() => simulateCandles({ garch: { alpha: 0.5, beta: 0.6 } }, 1)).toThrow(/alpha \+ beta/);
    expect(() => simulateCandles({}, -1)).toThrow(/bars/);
  });

  it("derives an ordered book and ticker around the close", () => {
    const candle = simulateCandles({ seed: 1 }, 1)[0] as Candle;
    const book = bookFromCandle(candle, { levels: 5 });
    expect(OrderBook.safeParse(book).success).toBe(true);
    expect(book.timestamp).toBe(candle.ts + 60_000);
    const bids = book.bids.map((l) => l[0]);
    const asks = book.asks.map((l) => l[0]);
    expect(bids).toEqual([...bids].sort((a, b) => b - a));
    expect(asks).toEqual([...asks].sort((a, b) => a - b));
    expect(bids[0]).toBeLessThan(candle.close);
    expect(asks[0]).toBeGreaterThan(candle.close);
    // Minimum spread 1 bp unless the bar range asks for more: (ask − bid)/close ≥ 1e-4 (1e-12 float slack).
    expect(((asks[0] as number) - (bids[0] as number)) / candle.close).toBeGreaterThanOrEqual(1e-4 - 1e-12);
    const ticker = tickerFromCandle(candle);
    expect(ticker.bid).toBe(bids[0]);
    expect(ticker.ask).toBe(asks[0]);
    expect(ticker.last).toBe(candle.close);
  });
});
