import { findAgent, type ServiceAgent } from "../../core/agents/manifest.ts";
import { Counter, Gauge } from "../../core/telemetry/metrics.ts";
import { createToolRegistry } from "../../core/tools/registry.ts";
import { childWith } from "../../core/telemetry/log.ts";
import { startService } from "../kit/service.ts";
import type { RunningService, ServeOptions, ServiceDeps } from "../kit/types.ts";
import { RiskRuntime, type RiskRuntimeOptions } from "./runtime.ts";
import { riskTools } from "./tools.ts";

const agent = findAgent("risk") as ServiceAgent;

/** Test and bench hooks; the launcher passes none. */
export type RiskOptions = Partial<
  Pick<RiskRuntimeOptions, "timeframe" | "snapshotIntervalMs" | "window" | "env">
> & {
  onRuntime?: (rt: RiskRuntime) => void;
};

/**
 * The RiskQuant service (`risk`, seed alias `riskquant`, :8081): Kelly sizing, VaR/CVaR, Monte Carlo,
 * portfolio optimisation, live risk metrics, the pre-trade check, run-time limits and the kill switch.
 * Keeps every account's book current from EVENTS and MARKET and writes the risk snapshots the
 * exchange checks orders against.
 */
export function start(deps: ServiceDeps, options?: ServeOptions): Promise<RunningService> {
  return startRisk(deps, options);
}

export async function startRisk(
  deps: ServiceDeps,
  options: ServeOptions = {},
  risk: RiskOptions = {},
): Promise<RunningService> {
  const logger = childWith(deps.logger, { agent: agent.name });
  const rt = await RiskRuntime.start({
    bus: deps.bus,
    config: deps.config,
    logger,
    source: agent.name,
    ...(risk.timeframe !== undefined ? { timeframe: risk.timeframe } : {}),
    ...(risk.snapshotIntervalMs !== undefined ? { snapshotIntervalMs: risk.snapshotIntervalMs } : {}),
    ...(risk.window !== undefined ? { window: risk.window } : {}),
    ...(risk.env !== undefined ? { env: risk.env } : {}),
  });
  risk.onRuntime?.(rt);
  try {
    return await startService(
      {
        agent,
        registry: createToolRegistry(agent.name, riskTools(deps.config, rt)),
        ready: () => rt.ready,
        metrics: (registry) => {
          const stats = rt.stats;
          new Counter({
            name: "bot4_risk_events_total",
            help: "Events the risk book consumed, by kind",
            labelNames: ["kind"] as const,
            registers: [registry],
            collect() {
              this.reset();
              this.inc({ kind: "fill" }, stats.fills);
              this.inc({ kind: "position" }, stats.positions);
              this.inc({ kind: "ticker" }, stats.prices);
              this.inc({ kind: "candle" }, stats.candles);
              this.inc({ kind: "malformed" }, stats.malformed);
            },
          });
          new Counter({
            name: "bot4_risk_breaches_total",
            help: "risk.breach events published",
            registers: [registry],
            collect() {
              this.reset();
              this.inc(stats.breachesPublished);
            },
          });
          new Gauge({
            name: "bot4_risk_kill_switch",
            help: "1 while the kill switch is on",
            registers: [registry],
            collect() {
              this.set(rt.limits().killSwitch ? 1 : 0);
            },
          });
          new Gauge({
            name: "bot4_risk_equity",
            help: "Equity of the default account, quote currency",
            registers: [registry],
            collect() {
              this.set(rt.snapshot("default").equity);
            },
          });
        },
        onStop: () => rt.stop(),
      },
      deps,
      options,
    );
  } catch (err) {
    await rt.stop();
    throw err;
  }
}
