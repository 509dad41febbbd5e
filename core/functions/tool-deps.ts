import type { Config } from "../config.ts";
import type { Bus } from "../ports/bus.ts";
import type { Logger } from "../telemetry/log.ts";
import { createToolRegistry, type ToolRegistry } from "../tools/registry.ts";
import type { FunctionDefinition, FunctionToolDeps } from "./contract.ts";
import { resolveState } from "./run.ts";
import { FunctionStateStore } from "./state-store.ts";

/** The deps a function's tools are built with, given the process's config, logger and (lazy) bus. */
export function functionToolDeps<In, S>(
  def: FunctionDefinition<In, S>,
  env: { config: Config; logger: Logger; bus: () => Promise<Bus> },
): FunctionToolDeps<S> {
  return {
    name: def.name,
    config: env.config,
    logger: env.logger,
    bus: env.bus,
    async state() {
      if (def.state === undefined) return resolveState(def, undefined);
      const store = await FunctionStateStore.open(await env.bus(), def.name);
      return resolveState(def, (await store.load()).value.state);
    },
  };
}

/** A function's tool registry. */
export function functionRegistry<In, S>(
  def: FunctionDefinition<In, S>,
  deps: FunctionToolDeps<S>,
): ToolRegistry {
  return createToolRegistry(def.name, def.tools(deps));
}
