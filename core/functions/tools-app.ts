import { Hono } from "hono";
import { requestId } from "hono/request-id";
import type { Config } from "../config.ts";
import type { Bus } from "../bus/bus.ts";
import type { Logger } from "../telemetry/log.ts";
import { localDispatch } from "../tools/execute.ts";
import { mountToolRoutes } from "../tools/http.ts";
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

/**
 * The HTTP face of a function's tools, as its Lambda serves them behind API Gateway v2 or a function
 * URL: `GET /health`, `GET /tools`, and the tool routes every Bot4 HTTP face shares (core/tools/http.ts):
 * `POST /tools/:tool` (body = args) and `POST /rpc` (JSON-RPC 2.0), with the same error bodies, request
 * ids (`X-Request-Id`) and correlation header (`Bot4-Correlation-Id`) as the services.
 */
export function toolsApp(registry: ToolRegistry, logger: Logger): Hono {
  const app = new Hono();
  app.use(requestId({ limitLength: 128 }));
  app.get("/health", (c) => c.json({ status: "ok", agent: registry.agent }));
  app.get("/tools", (c) => c.json({ agent: registry.agent, tools: registry.describe() }));
  mountToolRoutes(app, { agent: registry.agent, dispatch: localDispatch([registry]), logger });
  return app;
}
