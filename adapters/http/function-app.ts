import { Hono } from "hono";
import { requestId } from "hono/request-id";
import type { Logger } from "../../core/telemetry/log.ts";
import { localDispatch } from "../../core/tools/execute.ts";
import { mountToolRoutes, REQUEST_ID_MAX } from "./tool-routes.ts";
import type { ToolRegistry } from "../../core/tools/registry.ts";

/**
 * The HTTP face of a function's tools, as its Lambda serves them behind API Gateway v2 or a function
 * URL: `GET /health`, `GET /tools`, and the tool routes every Bot4 HTTP face shares (adapters/http/tool-routes.ts):
 * `POST /tools/:tool` (body = args) and `POST /rpc` (JSON-RPC 2.0), with the same error bodies, request
 * ids (`X-Request-Id`) and correlation header (`Bot4-Correlation-Id`) as the services.
 */
export function toolsApp(registry: ToolRegistry, logger: Logger): Hono {
  const app = new Hono();
  app.use(requestId({ limitLength: REQUEST_ID_MAX }));
  app.get("/health", (c) => c.json({ status: "ok", agent: registry.agent }));
  app.get("/tools", (c) => c.json({ agent: registry.agent, tools: registry.describe() }));
  mountToolRoutes(app, { agent: registry.agent, dispatch: localDispatch([registry]), logger });
  return app;
}
