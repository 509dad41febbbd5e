import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import { ZodError } from "zod";
import type { Config } from "../config.ts";
import type { Bus } from "../bus/bus.ts";
import type { Logger } from "../telemetry/log.ts";
import { httpStatusOf, toRpcError } from "../tools/errors.ts";
import { executeRpc, localDispatch } from "../tools/execute.ts";
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
 * URL: `GET /health`, `GET /tools`, `POST /tools/:tool` (body = args) and `POST /rpc` (JSON-RPC 2.0).
 */
export function toolsApp(registry: ToolRegistry, logger: Logger): Hono {
  const app = new Hono();
  app.get("/health", (c) => c.json({ status: "ok", agent: registry.agent }));
  app.get("/tools", (c) => c.json({ agent: registry.agent, tools: registry.describe() }));
  app.post("/tools/:tool", async (c) => {
    const requestId = c.req.header("x-request-id") ?? randomUUID();
    let args: unknown = {};
    const text = await c.req.text();
    if (text.trim().length > 0) {
      try {
        args = JSON.parse(text);
      } catch {
        return c.json({ error: { code: -32700, message: "parse error: the body is not valid JSON" } }, 400);
      }
    }
    try {
      const result = await registry.call(c.req.param("tool"), args, {
        requestId,
        correlationId: c.req.header("x-correlation-id") ?? requestId,
        transport: "http",
        logger: logger.child({ requestId, tool: c.req.param("tool") }),
      });
      return c.json(result as object);
    } catch (err) {
      const error = toRpcError(err);
      if (!(err instanceof ZodError) && error.code === -32603) logger.error({ err }, "tool call failed");
      return c.json({ error }, httpStatusOf(error.code));
    }
  });
  app.post("/rpc", async (c) => {
    const response = await executeRpc(await c.req.text(), localDispatch([registry]), {
      transport: "rpc",
      logger,
    });
    return response === undefined ? c.body(null, 204) : c.json(response);
  });
  return app;
}
