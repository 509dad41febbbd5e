import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { counterTally, LatencyHistogram } from "./tally.ts";

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

/**
 * The per-tool call metrics every served agent exports, recorded per call through observers bound
 * once per label set (a tool call's metrics are on its hot path; see tally.ts).
 */
export function toolMetrics(registry: Registry) {
  const calls = counterTally();
  const counter = new Counter({
    name: "bot4_tool_calls_total",
    help: "Tool calls by tool, transport and outcome",
    labelNames: ["tool", "transport", "outcome"] as const,
    registers: [registry],
    collect: calls.collect,
  });
  const latency = new LatencyHistogram({
    name: "bot4_tool_call_seconds",
    help: "Tool call latency by tool and transport",
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  return {
    /** The counter of one (tool, transport, outcome): bind once, call per call. */
    call: (tool: string, transport: string, outcome: string) => calls.bind({ tool, transport, outcome }),
    /** The latency observer (seconds) of one (tool, transport): bind once, call per call. */
    latency: (tool: string, transport: string) => latency.bind({ tool, transport }),
    counter,
  };
}
export type ToolMetrics = ReturnType<typeof toolMetrics>;
