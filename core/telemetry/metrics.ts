import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export { Counter, Gauge, Histogram, Registry };

/** Latency buckets (seconds) from 50 µs to 10 s: tool calls sit at the low end, backtests at the top. */
export const LATENCY_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
];

/** A Prometheus registry for one service, labelled with its agent, with Node's process metrics. */
export function createMetricsRegistry(agent: string, withDefaults = true): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ agent });
  if (withDefaults) collectDefaultMetrics({ register: registry });
  return registry;
}

/** The per-tool call metrics every served agent exports. */
export function toolMetrics(registry: Registry) {
  return {
    calls: new Counter({
      name: "bot4_tool_calls_total",
      help: "Tool calls by tool, transport and outcome",
      labelNames: ["tool", "transport", "outcome"] as const,
      registers: [registry],
    }),
    latency: new Histogram({
      name: "bot4_tool_call_seconds",
      help: "Tool call latency by tool and transport",
      labelNames: ["tool", "transport"] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
  };
}
export type ToolMetrics = ReturnType<typeof toolMetrics>;
