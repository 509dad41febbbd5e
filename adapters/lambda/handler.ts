import { handle } from "hono/aws-lambda";
import { Bus } from "../nats/bus.ts";
import { type Config, loadConfig } from "../../core/config.ts";
import { createLogger, type Logger } from "../../core/telemetry/log.ts";
import type { FunctionDefinition } from "../../core/functions/contract.ts";
import { BATCH_KIND, BatchPayload, type BatchResult, runBatch } from "../../core/functions/run.ts";
import { functionRegistry, functionToolDeps } from "../../core/functions/tool-deps.ts";
import { toolsApp } from "../http/function-app.ts";

/** An AWS Lambda handler: the event is the JSON payload, the result is JSON-serialised by the runtime. */
export type LambdaHandler = (event: unknown, context?: unknown) => Promise<unknown>;

export interface LambdaHandlerOptions {
  /** Default: read from process.env on the first invocation. */
  config?: Config;
  logger?: Logger;
}

function isHttpEvent(event: unknown): event is Parameters<ReturnType<typeof handle>>[0] {
  if (typeof event !== "object" || event === null) return false;
  const e = event as Record<string, unknown>;
  return typeof e.requestContext === "object" && ("rawPath" in e || "httpMethod" in e || "path" in e);
}

/**
 * The one Lambda entry of a function (`functions/<name>/handler.ts` exports it as `handler`). It
 * serves the trigger's batch payloads (pure: no NATS connection) and HTTP tool calls from API Gateway
 * v2 or a function URL through Hono's Lambda adapter (a NATS connection is opened on the first tool
 * call that needs the bus, from NATS_URL, and reused by later invocations of the same container).
 */
export function createLambdaHandler<In, S>(
  def: FunctionDefinition<In, S>,
  options: LambdaHandlerOptions = {},
): LambdaHandler {
  let config = options.config;
  let logger = options.logger;
  let http: ReturnType<typeof handle> | undefined;
  let bus: Promise<Bus> | undefined;
  const env = () => {
    config ??= loadConfig(process.env);
    logger ??= createLogger(`fn-${def.name}`, config.LOG_LEVEL);
    return { config, logger };
  };
  const connect = (): Promise<Bus> => {
    const { config: c, logger: l } = env();
    if (c.NATS_URL === undefined)
      return Promise.reject(new Error("NATS_URL is not set: this tool needs the bus"));
    bus ??= Bus.connect({
      url: c.NATS_URL,
      name: `bot4-fn-${def.name}`,
      logger: l,
      maxReconnectAttempts: 10,
    });
    return bus;
  };
  return async (event, context) => {
    if (typeof event === "object" && event !== null && (event as { kind?: unknown }).kind === BATCH_KIND) {
      const payload = BatchPayload.parse(event);
      const result: BatchResult = await runBatch(def, payload, env());
      return result;
    }
    if (isHttpEvent(event)) {
      if (http === undefined) {
        const e = env();
        const registry = functionRegistry(def, functionToolDeps(def, { ...e, bus: connect }));
        http = handle(toolsApp(registry, e.logger));
      }
      return http(event, context as Parameters<ReturnType<typeof handle>>[1]);
    }
    throw new Error(`${def.name}: unrecognised Lambda event (neither a trigger batch nor an HTTP event)`);
  };
}
