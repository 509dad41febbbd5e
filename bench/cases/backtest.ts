import { runEngine } from "../../core/backtest/engine.ts";
import { computeMetrics } from "../../core/backtest/metrics.ts";
import { DEFAULT_FEES } from "../../core/execution/fees.ts";
import { simulateCandles } from "../../core/market/simulator.ts";
import { maCrossover } from "../../core/strategy/ma-crossover.ts";
import type { BenchCase, BenchResult } from "../harness.ts";
import { measureSequential } from "../harness.ts";

/**
 * Backtest throughput: the moving-average crossover (10/30, long/short, book execution, 0.1 % fees)
 * over one year of one-minute bars (525,600) from the seeded simulator — engine plus metrics, data
 * generation excluded. Target ≥ 1,000,000 bars/s. Also the simulator's own bars/s.
 */
const YEAR_OF_MINUTES = 525_600;

const backtestCase: BenchCase = {
  name: "backtest",
  order: 60,
  async run(ctx): Promise<BenchResult[]> {
    const bars = Math.max(10_000, Math.round(YEAR_OF_MINUTES * Math.min(1, ctx.scale)));
    const t0 = process.hrtime.bigint();
    const candles = simulateCandles({ seed: 1, timeframe: "1m" }, bars);
    const simSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    let trades = 0;
    const once = () => {
      const run = runEngine(candles, maCrossover({ fast: 10, slow: 30, allowShort: true }), {
        initialCash: 10_000,
        fill: { fees: DEFAULT_FEES, slippageBps: 0 },
        execution: "book",
        sizing: { fraction: 1 },
      });
      const m = computeMetrics({
        initialEquity: 10_000,
        equity: run.equity,
        barMs: 60_000,
        trades: run.trades,
        exposureBars: run.exposureBars,
        tradedNotional: run.tradedNotional,
        totalFees: run.totalFees,
      });
      trades = m.trades;
    };
    const iterations = Math.max(3, Math.round(10 * ctx.scale));
    const { latency, throughput } = await measureSequential(once, iterations, 2);
    ctx.log(`backtest: ${bars} bars, ${trades} trades per run, ${iterations} runs`);
    return [
      {
        case: "backtest ma_crossover 1y of 1m bars",
        unit: "run",
        latency,
        throughput,
        notes: {
          bars,
          trades,
          bars_per_s_p50: Math.round(bars / (latency.p50_us / 1e6)),
          bars_per_s_mean: Math.round(bars / (latency.mean_us / 1e6)),
          target_bars_per_s: 1_000_000,
        },
      },
      {
        case: "market simulator",
        unit: "bar",
        throughput: Math.round(bars / simSeconds),
      },
    ];
  },
};

export default backtestCase;
