/**
 * Seeded market simulator — the offline default market for backtests, the paper venue and model training.
 *
 * Pure and deterministic: the same parameters (seed included) always give the same candles. The log
 * return of each bar is
 *
 *   r_t = μ_regime·Δ − ½·s_t² + s_t·z_t + J_t,   s_t = volScale_regime · √h_t
 *
 * - **Regime switching**: a Markov chain over `regimes`; each bar the current regime is left with
 *   probability Δ / meanDuration and the next one is drawn uniformly among the others.
 * - **Volatility clustering**: GARCH(1,1) on the diffusion shock, h_{t+1} = ω + α·ε_t² + β·h_t with
 *   ε_t = √h_t·z_t and ω chosen so that the unconditional variance is annual_vol²·Δ (Δ = bar / year).
 * - **Jumps**: a compound Poisson term, `jumps.per_year` expected jumps a year, each N(mean_log, std_log²).
 * - **Intrabar range**: high and low are drawn from the exact distribution of the maximum / minimum of a
 *   Brownian bridge from 0 to r_t with variance s_t², so high ≥ max(open, close) ≥ min(open, close) ≥ low.
 * - Each bar opens at the previous close (a continuous 24/7 market).
 *
 * Stable API (others depend on it):
 *   simulateCandles(params, bars)        → Candle[]                    (a whole series at once)
 *   createMarketSimulator(params)        → { next(): SimulatedBar }    (an endless stream, e.g. a paper feed)
 *   bookFromCandle(candle, options?)     → OrderBook                   (a deterministic book around the close)
 *   tickerFromCandle(candle, options?)   → Ticker                      (its top of book)
 *   SimulatorParams                      zod schema of the parameters (all optional, with defaults)
 */
import { z } from "zod";
import type { Candle, OrderBook, Ticker } from "../domain/market.ts";
import { Timeframe, timeframeMs } from "../domain/market.ts";
import { createRandom } from "../math/random.ts";
import { roundToTick } from "./tick.ts";

const YEAR_MS = 365 * 86_400_000;

export const RegimeSpec = z.object({
  name: z.string().min(1),
  /** Annualised drift of the log price in this regime (0.5 = +50 %/year). */
  drift_annual: z.number().min(-20).max(20),
  /** Multiplier on the GARCH volatility in this regime. */
  vol_scale: z.number().positive().max(20),
  /** Mean time spent in the regime before switching, in days. */
  mean_duration_days: z.number().positive(),
});
export type RegimeSpec = z.infer<typeof RegimeSpec>;

export const defaultRegimes: RegimeSpec[] = [
  { name: "bull", drift_annual: 0.8, vol_scale: 0.9, mean_duration_days: 20 },
  { name: "bear", drift_annual: -0.7, vol_scale: 1.2, mean_duration_days: 12 },
  { name: "range", drift_annual: 0, vol_scale: 0.7, mean_duration_days: 15 },
];

export const SimulatorParams = z.object({
  venue: z.string().min(1).default("sim"),
  symbol: z.string().min(1).default("BTC/USDT"),
  timeframe: Timeframe.default("1m"),
  /** Open time of the first bar, integer UTC ms (aligned down to the timeframe). */
  start: z
    .number()
    .int()
    .nonnegative()
    .default(Date.UTC(2024, 0, 1)),
  seed: z.union([z.number().int(), z.string().min(1)]).default(1),
  start_price: z.number().positive().default(50_000),
  /** Unconditional annualised volatility of the diffusion part. */
  annual_vol: z.number().positive().max(10).default(0.6),
  garch: z
    .object({ alpha: z.number().min(0).max(1), beta: z.number().min(0).max(1) })
    .refine((g) => g.alpha + g.beta < 1, { message: "garch alpha + beta must be < 1 (stationary)" })
    .default({ alpha: 0.06, beta: 0.92 }),
  regimes: z.array(RegimeSpec).min(1).default(defaultRegimes),
  jumps: z
    .object({
      per_year: z.number().min(0),
      mean_log: z.number().min(-1).max(1),
      std_log: z.number().min(0).max(1),
    })
    .default({ per_year: 12, mean_log: 0, std_log: 0.03 }),
  /** Mean traded volume per hour, in base units. */
  volume_per_hour: z.number().positive().default(100),
});
export type SimulatorParams = z.infer<typeof SimulatorParams>;
export type SimulatorParamsInput = z.input<typeof SimulatorParams>;

export interface SimulatedBar {
  candle: Candle;
  /** Name of the regime the bar was drawn in (ground truth for regime models). */
  regime: string;
}

export interface MarketSimulator {
  readonly params: SimulatorParams;
  next(): SimulatedBar;
}

export function createMarketSimulator(input: SimulatorParamsInput = {}): MarketSimulator {
  const params = SimulatorParams.parse(input);
  const rng = createRandom(params.seed);
  const barMs = timeframeMs[params.timeframe];
  const dt = barMs / YEAR_MS;
  const targetVar = params.annual_vol * params.annual_vol * dt;
  const { alpha, beta } = params.garch;
  const omega = targetVar * (1 - alpha - beta);
  const jumpLambda = params.jumps.per_year * dt;
  const meanVolume = (params.volume_per_hour * barMs) / 3_600_000;
  const regimes = params.regimes;
  const leaveProb = regimes.map((r) => Math.min(1, barMs / (r.mean_duration_days * 86_400_000)));

  let ts = params.start - (params.start % barMs);
  let price = params.start_price;
  let h = targetVar;
  let regimeIndex = Math.floor(rng.uniform() * regimes.length);

  return {
    params,
    next(): SimulatedBar {
      if (regimes.length > 1 && rng.uniform() < (leaveProb[regimeIndex] ?? 0)) {
        const k = Math.floor(rng.uniform() * (regimes.length - 1));
        regimeIndex = k >= regimeIndex ? k + 1 : k;
      }
      const regime = regimes[regimeIndex] as RegimeSpec;
      const z = rng.normal();
      const eps = Math.sqrt(h) * z;
      const s = regime.vol_scale * Math.sqrt(h);
      let r = regime.drift_annual * dt - 0.5 * s * s + regime.vol_scale * eps;
      const nJumps = rng.poisson(jumpLambda);
      for (let j = 0; j < nJumps; j++) r += params.jumps.mean_log + params.jumps.std_log * rng.normal();
      h = omega + alpha * eps * eps + beta * h;

      // Brownian-bridge extremes: max = (r + √(r² − 2s²·ln U)) / 2, min = (r − √(r² − 2s²·ln U')) / 2.
      const u1 = 1 - rng.uniform();
      const u2 = 1 - rng.uniform();
      const up = (r + Math.sqrt(r * r - 2 * s * s * Math.log(u1))) / 2;
      const down = (r - Math.sqrt(r * r - 2 * s * s * Math.log(u2))) / 2;
      const open = price;
      const close = open * Math.exp(r);
      const high = Math.max(open, close, open * Math.exp(up));
      const low = Math.min(open, close, open * Math.exp(down));
      const activity = 0.5 + (0.5 * Math.abs(r)) / Math.sqrt(targetVar);
      const volume = meanVolume * activity * Math.exp(0.5 * rng.normal() - 0.125);

      const candle: Candle = {
        venue: params.venue,
        symbol: params.symbol,
        timeframe: params.timeframe,
        ts,
        open,
        high,
        low,
        close,
        volume,
      };
      ts += barMs;
      price = close;
      return { candle, regime: regime.name };
    },
  };
}

/** `bars` consecutive simulated candles. */
export function simulateCandles(input: SimulatorParamsInput, bars: number): Candle[] {
  if (!Number.isInteger(bars) || bars < 0)
    throw new RangeError(`bars must be a non-negative integer, got ${bars}`);
  const sim = createMarketSimulator(input);
  const out: Candle[] = new Array(bars);
  for (let i = 0; i < bars; i++) out[i] = sim.next().candle;
  return out;
}

export interface BookOptions {
  /** Levels per side (default 10). */
  levels?: number;
  /** Minimum full spread in basis points (default 1). */
  minSpreadBps?: number;
  /** Spread as a fraction of the bar's high–low range (default 0.05): wider books in wilder bars. */
  rangeSpreadFraction?: number;
  /** Distance between levels in basis points (default 1). */
  levelStepBps?: number;
  /** Amount at the best level as a fraction of the bar volume (default 0.02); deeper levels grow linearly. */
  topDepthFraction?: number;
  /**
   * The venue's tick size: bids are rounded down and asks up onto it (levels that meet are merged), so
   * every price of the book is one a limit order may carry. Default: unrounded.
   */
  tickSize?: number;
}

/**
 * A deterministic order book around a candle's close, as seen when the bar closes
 * (timestamp = candle open time + timeframe). Bids descend, asks ascend.
 */
export function bookFromCandle(candle: Candle, options: BookOptions = {}): OrderBook {
  const levels = options.levels ?? 10;
  const minSpread = (options.minSpreadBps ?? 1) / 10_000;
  const rangeFraction = options.rangeSpreadFraction ?? 0.05;
  const step = (options.levelStepBps ?? 1) / 10_000;
  const topFraction = options.topDepthFraction ?? 0.02;
  const mid = candle.close;
  const spread = Math.max(minSpread, (rangeFraction * (candle.high - candle.low)) / mid);
  const topAmount = Math.max(candle.volume * topFraction, 1e-6);
  const bids: [number, number][] = [];
  const asks: [number, number][] = [];
  for (let i = 0; i < levels; i++) {
    const offset = spread / 2 + i * step;
    const amount = topAmount * (1 + i);
    bids.push([mid * (1 - offset), amount]);
    asks.push([mid * (1 + offset), amount]);
  }
  const tick = options.tickSize;
  return {
    venue: candle.venue,
    symbol: candle.symbol,
    bids: tick === undefined ? bids : onTick(bids, tick, "down"),
    asks: tick === undefined ? asks : onTick(asks, tick, "up"),
    timestamp: candle.ts + timeframeMs[candle.timeframe],
  };
}

/** Levels moved onto the tick (away from the mid), the amounts of levels that meet summed. */
function onTick(levels: [number, number][], tick: number, mode: "down" | "up"): [number, number][] {
  const out: [number, number][] = [];
  for (const [price, amount] of levels) {
    const p = roundToTick(price, tick, mode);
    const last = out[out.length - 1];
    if (last !== undefined && last[0] === p) last[1] += amount;
    else out.push([p, amount]);
  }
  return out;
}

/** The top of `bookFromCandle(candle, options)` with the close as last price. */
export function tickerFromCandle(candle: Candle, options: BookOptions = {}): Ticker {
  const book = bookFromCandle(candle, { ...options, levels: 1 });
  return {
    venue: candle.venue,
    symbol: candle.symbol,
    bid: book.bids[0]?.[0],
    ask: book.asks[0]?.[0],
    last: candle.close,
    timestamp: book.timestamp,
  };
}
