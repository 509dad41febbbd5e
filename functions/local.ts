import { randomUUID } from "node:crypto";
import type { Subscription } from "@nats-io/transport-node";
import { functionAgents } from "../core/agents/manifest.ts";
import { type Heartbeat, startInstanceHeartbeat } from "../adapters/nats/agent-registry.ts";
import type { Bus } from "../adapters/nats/bus.ts";
import { waitOutOutage } from "../adapters/nats/outage.ts";
import { serveToolsOverNats } from "../adapters/nats/tool-transport.ts";
import type { Config } from "../core/config.ts";
import type { AnyFunctionDefinition, RunningBackground } from "../core/functions/contract.ts";
import { functionRegistry, functionToolDeps } from "../core/functions/tool-deps.ts";
import { childWith, type Logger } from "../core/telemetry/log.ts";
import { createMetricsRegistry, type Registry } from "../core/telemetry/metrics.ts";
import { localDispatch } from "../core/tools/execute.ts";
import { loadFunction } from "./modules.ts";
import { inProcessInvoker } from "./trigger/inprocess.ts";
import type { Invoker } from "./trigger/invoker.ts";
import { lambdaInvoker } from "./trigger/lambda.ts";
import { triggerMetrics } from "./trigger/metrics.ts";
import { type RunningTrigger, startTrigger } from "./trigger/trigger.ts";

export interface LocalFunctions {
  /** The functions running (manifest names). */
  readonly running: readonly string[];
  /** Manifest functions without a module yet. */
  readonly notImplemented: readonly string[];
  /** Manifest functions whose module failed to load (logged as errors). */
  readonly failed: readonly string[];
  /** The trigger's Prometheus metrics. */
  readonly metrics: Registry;
  stop(): Promise<void>;
}

/**
 * Runs every function of the manifest that has a `functions/<name>/function.ts` module: its trigger
 * (in-process invoker by default, Lambda when FUNCTION_INVOKER=lambda) and its tools over NATS
 * (`tools.<name>`, queue group = name) so the coordinator routes `tool.execute` to them. Functions
 * without a module are skipped and named, calmly, in one line ("not built yet"). The launcher (`npm start`) calls this.
 */
export async function startLocalFunctions(
  deps: {
    config: Config;
    bus: Bus;
    logger: Logger;
    /** Each function's own connection (its NATS user, as the launcher hands out); default `bus`. */
    busOf?: (fn: string) => Bus;
  },
  options: {
    /** Run only these functions (a trigger shard); default: every function of the manifest. */
    only?: readonly string[];
    /** Collect Node's process metrics too (a process of its own; the launcher's coordinator has them). */
    processMetrics?: boolean;
  } = {},
): Promise<LocalFunctions> {
  const { config, bus, logger } = deps;
  const metrics = createMetricsRegistry("functions", options.processMetrics ?? false);
  const tm = triggerMetrics(metrics);
  const invoker: Invoker =
    config.FUNCTION_INVOKER === "lambda"
      ? lambdaInvoker({ config, logger: logger.child({ invoker: "lambda" }) })
      : inProcessInvoker({ config, logger });
  const triggers: RunningTrigger[] = [];
  const subscriptions: Subscription[] = [];
  const running: string[] = [];
  const notImplemented: string[] = [];
  const failed: string[] = [];
  const heartbeats: Heartbeat[] = [];
  const backgrounds: RunningBackground[] = [];
  const instanceId = randomUUID().slice(0, 8);
  const definitions: AnyFunctionDefinition[] = [];
  const stopAll = async () => {
    await Promise.all(backgrounds.map((b) => b.stop()));
    await Promise.all(heartbeats.map((h) => h.stop()));
    for (const s of subscriptions) s.unsubscribe();
    await Promise.all(triggers.map((t) => t.stop()));
    await Promise.all(
      definitions.map((d) => d.close?.().catch((err: unknown) => logger.warn({ err }, "close failed"))),
    );
  };
  try {
    const selected =
      options.only === undefined || options.only.length === 0
        ? functionAgents
        : functionAgents.filter((f) => options.only?.includes(f.name));
    for (const agent of selected) {
      let def: AnyFunctionDefinition | undefined;
      try {
        def = await loadFunction(agent.name);
      } catch (err) {
        failed.push(agent.name);
        logger.error({ err, function: agent.name }, `function ${agent.name} failed to load; skipped`);
        continue;
      }
      if (def === undefined) {
        notImplemented.push(agent.name);
        logger.debug(
          { function: agent.name, title: agent.title },
          `function ${agent.name} (${agent.title}) is not built yet (no functions/${agent.name}/function.ts)`,
        );
        continue;
      }
      definitions.push(def);
      const fnLogger = childWith(logger, { function: agent.name });
      const fnBus = deps.busOf?.(agent.name) ?? bus;
      const toolDeps = functionToolDeps(def, { config, logger: fnLogger, bus: async () => fnBus });
      const registry = functionRegistry(def, toolDeps);
      subscriptions.push(serveToolsOverNats(fnBus, def.name, localDispatch([registry])));
      // A bus outage while a function starts is waited out (each step is idempotent), not fatal.
      const step = <T>(what: string, run: () => Promise<T>) =>
        waitOutOutage(fnBus, `${def.name}: ${what}`, run, fnLogger);
      triggers.push(
        await step("trigger", () =>
          startTrigger(def, { bus: fnBus, config, logger: fnLogger }, { invoker, metrics: tm }),
        ),
      );
      // Registered like a service instance (kind "function"), so the coordinator lists its tools.
      heartbeats.push(
        await step("heartbeat", () =>
          startInstanceHeartbeat(
            fnBus,
            { agent: def.name, instanceId, kind: "function", tools: registry.describe() },
            fnLogger,
          ),
        ),
      );
      const background = def.background;
      if (background !== undefined)
        backgrounds.push(await step("background", () => background({ ...toolDeps, metrics })));
      running.push(def.name);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  const later = notImplemented.length > 0 ? ` (not built yet: ${notImplemented.join(", ")})` : "";
  logger.info(
    { running, notImplemented, failed, invoker: invoker.kind },
    `functions running: ${running.join(", ") || "none"}${later}`,
  );
  return {
    running,
    notImplemented,
    failed,
    metrics,
    stop: stopAll,
  };
}
