import type { Registry } from "prom-client";
import { Counter, Gauge, Histogram } from "../../core/telemetry/metrics.ts";
import type { StrategyHost } from "./host.ts";

/**
 * Prometheus series per strategy instance on the agent's /metrics: orders (by outcome), fills,
 * decisions by reason, realised and unrealised PnL, exposure, whether a position is unprotected, and
 * the time one candle takes from arrival to the kernels' decisions.
 */
export interface StrategyMetrics {
  orders: Counter<"strategy" | "outcome">;
  fills: Counter<"strategy">;
  decisionSeconds: Histogram;
}

export function strategyMetrics(registry: Registry, host: StrategyHost): StrategyMetrics {
  const reported = new Map<string, number>();
  new Counter({
    name: "bot4_strategy_decisions_total",
    help: "Kernel decisions per strategy and reason (signal, stop_loss, take_profit, cooldown, …)",
    labelNames: ["strategy", "reason"] as const,
    registers: [registry],
    collect() {
      for (const inst of host.list()) {
        for (const [reason, n] of Object.entries(inst.counters.decisions)) {
          const key = `${inst.config.id}|${reason}`;
          const delta = (n ?? 0) - (reported.get(key) ?? 0);
          if (delta > 0) this.inc({ strategy: inst.config.id, reason }, delta);
          reported.set(key, n ?? 0);
        }
      }
    },
  });
  const gauge = (
    name: string,
    help: string,
    value: (p: ReturnType<StrategyHost["list"]>[number]) => number,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ["strategy"] as const,
      registers: [registry],
      collect() {
        for (const inst of host.list()) this.set({ strategy: inst.config.id }, value(inst));
      },
    });
  gauge("bot4_strategy_realized_pnl", "Realised PnL after fees (quote)", (i) => i.profit().realizedPnl);
  gauge(
    "bot4_strategy_unrealized_pnl",
    "Unrealised PnL at the last marks (quote)",
    (i) => i.profit().unrealizedPnl,
  );
  gauge(
    "bot4_strategy_exposure",
    "|position| × mark summed over symbols (quote)",
    (i) => i.profit().exposure,
  );
  gauge("bot4_strategy_equity", "Cash + positions at the marks (quote)", (i) => i.profit().equity);
  gauge("bot4_strategy_unprotected", "1 while a stopped or paused strategy holds a position", (i) =>
    i.unprotected ? 1 : 0,
  );
  gauge("bot4_strategy_running", "1 while the strategy runs", (i) => (i.status === "running" ? 1 : 0));
  return {
    orders: new Counter({
      name: "bot4_strategy_orders_total",
      help: "Orders sent to the exchange per strategy, by outcome (filled, rejected, expired, error, …)",
      labelNames: ["strategy", "outcome"] as const,
      registers: [registry],
    }),
    fills: new Counter({
      name: "bot4_strategy_fills_total",
      help: "Fills applied per strategy",
      labelNames: ["strategy"] as const,
      registers: [registry],
    }),
    decisionSeconds: new Histogram({
      name: "bot4_strategy_candle_seconds",
      help: "Time from a candle's arrival to every kernel's decision on it (excluding the order round trip)",
      buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05],
      registers: [registry],
    }),
  };
}
