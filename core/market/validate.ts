import type { Candle, Timeframe } from "../domain/market.ts";
import { timeframeMs } from "../domain/market.ts";

/**
 * Market data validation. Corrupt data stops a backtest rather than being traded on: duplicates,
 * out-of-order timestamps, bars off the timeframe grid and impossible bars are always refused; gaps
 * (missing bars) are refused or reported, as the caller chooses, and are never filled in silently.
 */
export type DataIssueKind =
  | "duplicate"
  | "out_of_order"
  | "misaligned"
  | "invalid_bar"
  | "mixed_series"
  | "gap";

export interface DataIssue {
  readonly kind: DataIssueKind;
  /** Index of the offending bar in the input. */
  readonly index: number;
  readonly ts: number;
  readonly message: string;
  /** For gaps: how many bars are missing. */
  readonly missingBars?: number;
}

export interface DataReport {
  readonly bars: number;
  readonly issues: readonly DataIssue[];
  /** Total missing bars over all gaps. */
  readonly missingBars: number;
}

/** Thrown when data is refused; `issues` lists every problem found (the message names the first few). */
export class MarketDataError extends Error {
  override name = "MarketDataError";
  constructor(
    message: string,
    readonly issues: readonly DataIssue[] = [],
  ) {
    super(message);
  }
}

const iso = (ts: number) => (Number.isFinite(ts) ? new Date(ts).toISOString() : String(ts));

/** Every problem of a series that should be one symbol's bars of one timeframe in time order. */
export function inspectCandles(candles: readonly Candle[], timeframe: Timeframe): DataReport {
  const step = timeframeMs[timeframe];
  const issues: DataIssue[] = [];
  let missingBars = 0;
  const first = candles[0];
  for (let i = 0; i < candles.length; i++) {
    const c = candles[i] as Candle;
    if (
      first !== undefined &&
      (c.symbol !== first.symbol || c.venue !== first.venue || c.timeframe !== timeframe)
    ) {
      issues.push({
        kind: "mixed_series",
        index: i,
        ts: c.ts,
        message: `bar ${i} is ${c.venue} ${c.symbol} ${c.timeframe}, expected ${first.venue} ${first.symbol} ${timeframe}`,
      });
    }
    const valid =
      Number.isInteger(c.ts) &&
      c.low > 0 &&
      c.low <= Math.min(c.open, c.close) &&
      c.high >= Math.max(c.open, c.close) &&
      c.volume >= 0 &&
      Number.isFinite(c.high) &&
      Number.isFinite(c.volume);
    if (!valid) {
      issues.push({
        kind: "invalid_bar",
        index: i,
        ts: c.ts,
        message: `bar ${i} at ${iso(c.ts)} is impossible (o=${c.open} h=${c.high} l=${c.low} c=${c.close} v=${c.volume})`,
      });
    }
    if (c.ts % step !== 0) {
      issues.push({
        kind: "misaligned",
        index: i,
        ts: c.ts,
        message: `bar ${i} opens at ${iso(c.ts)}, not on the ${timeframe} grid`,
      });
    }
    if (i === 0) continue;
    const prev = (candles[i - 1] as Candle).ts;
    if (c.ts === prev) {
      issues.push({ kind: "duplicate", index: i, ts: c.ts, message: `bar ${i} repeats ${iso(c.ts)}` });
    } else if (c.ts < prev) {
      issues.push({
        kind: "out_of_order",
        index: i,
        ts: c.ts,
        message: `bar ${i} at ${iso(c.ts)} comes after ${iso(prev)}`,
      });
    } else if (c.ts - prev > step) {
      const missing = Math.round((c.ts - prev) / step) - 1;
      if (missing > 0) {
        missingBars += missing;
        issues.push({
          kind: "gap",
          index: i,
          ts: c.ts,
          missingBars: missing,
          message: `${missing} ${timeframe} bar(s) missing between ${iso(prev)} and ${iso(c.ts)}`,
        });
      }
    }
  }
  return { bars: candles.length, issues, missingBars };
}

export interface ValidateOptions {
  /** "refuse" throws on gaps as on every other issue; "report" lets gaps through in the report. */
  gaps?: "refuse" | "report";
  /** Fewest bars accepted (default 1). */
  minBars?: number;
}

/**
 * Checks a series and throws a {@link MarketDataError} for anything but (optionally) gaps. Returns the
 * report, whose `issues` then hold only gaps.
 */
export function validateCandles(
  candles: readonly Candle[],
  timeframe: Timeframe,
  options: ValidateOptions = {},
): DataReport {
  const minBars = options.minBars ?? 1;
  if (candles.length < minBars) {
    throw new MarketDataError(`need at least ${minBars} bar(s), got ${candles.length}`);
  }
  const report = inspectCandles(candles, timeframe);
  const refused = report.issues.filter((i) => i.kind !== "gap" || options.gaps !== "report");
  if (refused.length > 0) {
    const shown = refused.slice(0, 5).map((i) => i.message);
    const more = refused.length > 5 ? ` (and ${refused.length - 5} more)` : "";
    throw new MarketDataError(
      `market data refused: ${refused.length} problem(s): ${shown.join("; ")}${more}`,
      refused,
    );
  }
  return report;
}
