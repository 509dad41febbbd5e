import { z } from "zod";
import type { Trade } from "./engine.ts";

/**
 * Performance metrics of an equity curve and its trades. Conventions (docs/backtesting.md repeats them):
 * - per-bar simple returns r_k = E_k / E_{k−1} − 1, with E_{−1} = the initial equity;
 * - periods per year P = 365 days / bar length (crypto trades every day);
 * - annualised volatility = sample standard deviation (n − 1) of r × √P;
 * - Sharpe = (mean(r) − rf/P) / std(r) × √P; Sortino = (mean(r) − rf/P) / downside deviation × √P,
 *   downside deviation = √(Σ min(r_k − rf/P, 0)² / n);
 * - CAGR = (E_end / E_0)^(1 / years) − 1 with years = n bars × bar length / 365 days;
 * - maximum drawdown = max_k (1 − E_k / max_{j≤k} E_j) (initial equity counts as a peak); its duration
 *   is the longest run of bars spent below a previous peak (to recovery, or to the end);
 * - Calmar = CAGR / maximum drawdown; win rate, profit factor (gross profit / gross loss) and
 *   expectancy (mean net PnL per trade) are over closed round trips;
 * - exposure = share of bars ending with a position; turnover = traded notional / initial equity.
 * Undefined ratios (no variance, no loss, no trades) are null.
 */
export const BacktestMetrics = z.object({
  bars: z.number().int().nonnegative(),
  years: z.number().nonnegative(),
  initialEquity: z.number(),
  finalEquity: z.number(),
  totalReturn: z.number(),
  cagr: z.number().nullable(),
  annualVolatility: z.number(),
  sharpe: z.number().nullable(),
  sortino: z.number().nullable(),
  maxDrawdown: z.number().nonnegative(),
  maxDrawdownDurationBars: z.number().int().nonnegative(),
  maxDrawdownDurationMs: z.number().int().nonnegative(),
  calmar: z.number().nullable(),
  trades: z.number().int().nonnegative(),
  winRate: z.number().nullable(),
  profitFactor: z.number().nullable(),
  expectancy: z.number().nullable(),
  averageTradeReturn: z.number().nullable(),
  exposure: z.number().min(0).max(1),
  turnover: z.number().nonnegative(),
  totalFees: z.number().nonnegative(),
});
export type BacktestMetrics = z.infer<typeof BacktestMetrics>;

export const YEAR_MS = 365 * 86_400_000;

export interface MetricsInput {
  initialEquity: number;
  equity: ArrayLike<number>;
  barMs: number;
  trades: readonly Pick<Trade, "pnl" | "return">[];
  exposureBars: number;
  tradedNotional: number;
  totalFees: number;
  /** Annual risk-free rate (default 0). */
  riskFreeRate?: number;
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function computeMetrics(input: MetricsInput): BacktestMetrics {
  const { equity, initialEquity, barMs } = input;
  const n = equity.length;
  const periods = YEAR_MS / barMs;
  const rfBar = (input.riskFreeRate ?? 0) / periods;
  const finalEquity = n > 0 ? (equity[n - 1] as number) : initialEquity;
  const years = (n * barMs) / YEAR_MS;

  let sum = 0;
  let prev = initialEquity;
  for (let k = 0; k < n; k++) {
    const e = equity[k] as number;
    sum += e / prev - 1;
    prev = e;
  }
  const mean = n > 0 ? sum / n : 0;
  let ss = 0;
  let down = 0;
  prev = initialEquity;
  let peak = initialEquity;
  let maxDd = 0;
  let underwater = 0;
  let longest = 0;
  for (let k = 0; k < n; k++) {
    const e = equity[k] as number;
    const r = e / prev - 1;
    prev = e;
    ss += (r - mean) ** 2;
    const ex = r - rfBar;
    if (ex < 0) down += ex * ex;
    if (e >= peak) {
      peak = e;
      underwater = 0;
    } else {
      underwater++;
      if (underwater > longest) longest = underwater;
      const dd = 1 - e / peak;
      if (dd > maxDd) maxDd = dd;
    }
  }
  const std = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
  const downside = n > 0 ? Math.sqrt(down / n) : 0;
  const sqrtP = Math.sqrt(periods);
  const totalReturn = finalEquity / initialEquity - 1;
  const cagr =
    years > 0 && finalEquity > 0 ? finiteOrNull((finalEquity / initialEquity) ** (1 / years) - 1) : null;

  const trades = input.trades;
  let wins = 0;
  let grossProfit = 0;
  let grossLoss = 0;
  let pnlSum = 0;
  let retSum = 0;
  for (const t of trades) {
    pnlSum += t.pnl;
    retSum += t.return;
    if (t.pnl > 0) {
      wins++;
      grossProfit += t.pnl;
    } else {
      grossLoss -= t.pnl;
    }
  }
  const m = trades.length;
  return {
    bars: n,
    years,
    initialEquity,
    finalEquity,
    totalReturn,
    cagr,
    annualVolatility: std * sqrtP,
    sharpe: std > 0 ? ((mean - rfBar) / std) * sqrtP : null,
    sortino: downside > 0 ? ((mean - rfBar) / downside) * sqrtP : null,
    maxDrawdown: maxDd,
    maxDrawdownDurationBars: longest,
    maxDrawdownDurationMs: longest * barMs,
    calmar: cagr !== null && maxDd > 0 ? cagr / maxDd : null,
    trades: m,
    winRate: m > 0 ? wins / m : null,
    profitFactor: grossLoss > 0 ? grossProfit / grossLoss : null,
    expectancy: m > 0 ? pnlSum / m : null,
    averageTradeReturn: m > 0 ? retSum / m : null,
    exposure: n > 0 ? input.exposureBars / n : 0,
    turnover: input.tradedNotional / initialEquity,
    totalFees: input.totalFees,
  };
}
