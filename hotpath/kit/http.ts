import type { RequestListener } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import type { Bus } from "../../adapters/nats/bus.ts";
import { RpcCode, rpcError } from "../../core/protocol/jsonrpc.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import type { Registry } from "../../core/telemetry/metrics.ts";
import type { Dispatch } from "../../core/tools/execute.ts";
import type { RpcRelay } from "../../core/tools/relay.ts";
import { errorBody, mountToolRoutes, REQUEST_ID_MAX } from "../../adapters/http/tool-routes.ts";
import { browserGuard, corsFor } from "./guard.ts";
import { TokenBuckets, apiKeyAuth, clientOf, limitBody, rateLimit, tooMany } from "./protect.ts";
import { fastRpc, secureHeaderList } from "./rpc-fast.ts";
import type { ProtectionOptions, ServiceSpec } from "./types.ts";

export interface AppOptions {
  spec: ServiceSpec;
  bus: Bus;
  logger: Logger;
  metrics: Registry;
  dispatch: Dispatch;
  /** Where `POST /rpc` forwards other agents' calls as bytes (the coordinator); see {@link RpcRelay}. */
  relay?: RpcRelay;
  protection: ProtectionOptions;
  instanceId: string;
  version: string;
  startedAt: number;
  /** False once the service is stopping: /ready answers 503 so balancers stop sending. */
  accepting: () => boolean;
  /** The address the server is bound to (accepted as a Host name). */
  host?: string;
  /** The rate limit's buckets, shared with the `/rpc` fast path (rpc-fast.ts). */
  rateBuckets?: TokenBuckets;
}

/** A readiness check that has not answered by then counts as not ready (probes must not hang). */
const READY_TIMEOUT_MS = 2_000;

async function readyWithin(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`readiness check did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([Promise.resolve(check()), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The kit's Hono app: probes, metrics, tool listing, `POST /tools/:tool` and `POST /rpc`, behind
 * request ids, secure headers, API keys, a per-client token bucket and a body limit. `/health` is
 * open to everyone; the agent's extra routes are mounted after the kit's, behind the same protection.
 */
export function buildApp(o: AppOptions): Hono {
  const { spec, bus, logger, protection } = o;
  const agent = spec.agent.name;
  const app = new Hono();
  app.use(requestId({ limitLength: REQUEST_ID_MAX }));
  app.use(secureHeaders());
  if (logger.isLevelEnabled("debug")) {
    app.use(async (c, next) => {
      const started = performance.now();
      await next();
      logger.debug(
        {
          requestId: c.get("requestId"),
          method: c.req.method,
          path: c.req.path,
          status: c.res.status,
          ms: Math.round((performance.now() - started) * 1000) / 1000,
        },
        "http request",
      );
    });
  }

  app.get("/health", (c) =>
    c.json({
      status: "ok",
      agent,
      instanceId: o.instanceId,
      version: o.version,
      uptime_s: Math.round((Date.now() - o.startedAt) / 1000),
    }),
  );

  const corsMiddleware = corsFor(protection);
  if (corsMiddleware !== undefined) app.use(corsMiddleware);
  app.use(browserGuard(protection, o.host));
  spec.publicRoutes?.(app);
  if (protection.apiKeys.length > 0)
    app.use(
      apiKeyAuth(
        protection.apiKeys,
        protection.authFailuresPerMinute === false ? false : { perMinute: protection.authFailuresPerMinute },
      ),
    );
  if (protection.rateLimit !== false) app.use(rateLimit(protection.rateLimit, undefined, o.rateBuckets));
  app.use(
    limitBody(protection.bodyLimitBytes, (c) =>
      c.json(
        errorBody({
          code: RpcCode.InvalidRequest,
          message: `request body larger than ${protection.bodyLimitBytes} bytes`,
        }),
        413,
      ),
    ),
  );

  app.get("/ready", async (c) => {
    const busUp = bus.connected;
    let own = true;
    try {
      own = spec.ready === undefined ? true : await readyWithin(spec.ready, READY_TIMEOUT_MS);
    } catch (err) {
      logger.warn({ err }, "readiness check failed");
      own = false;
    }
    const ready = busUp && own && o.accepting();
    return c.json({ ready, checks: { bus: busUp, agent: own, accepting: o.accepting() } }, ready ? 200 : 503);
  });

  app.get("/metrics", async (c) => {
    c.header("Content-Type", o.metrics.contentType);
    return c.body(await o.metrics.metrics());
  });

  app.get("/tools", async (c) =>
    c.json(
      spec.listTools === undefined
        ? { agent, version: o.version, tools: spec.registry.describe() }
        : await spec.listTools(),
    ),
  );

  mountToolRoutes(app, {
    agent,
    dispatch: o.dispatch,
    ...(o.relay === undefined ? {} : { relay: o.relay }),
    logger,
    client: clientOf,
    maxBatch: protection.rpcBatchMax,
    refuseRpc: (c, payload) => batchRefusal(c, payload, protection.rpcBatchMax),
  });

  spec.routes?.(app);

  app.notFound((c) =>
    c.json(
      errorBody({ code: RpcCode.MethodNotFound, message: `no route ${c.req.method} ${c.req.path}` }),
      404,
    ),
  );
  app.onError((err, c) => {
    if (err instanceof HTTPException) return err.getResponse();
    logger.error({ err, requestId: c.get("requestId"), path: c.req.path }, "unhandled error");
    return c.json(errorBody({ code: RpcCode.InternalError, message: "internal error" }), 500);
  });
  return app;
}

/**
 * The kit's HTTP side as one node:http listener: `POST /rpc` on the fast path for the plain call
 * (rpc-fast.ts), everything else (and anything unusual) through the Hono app of {@link buildApp}.
 * Both draw on the same rate-limit buckets.
 */
export async function httpListener(o: AppOptions): Promise<{ app: Hono; listener: RequestListener }> {
  const limit = o.protection.rateLimit;
  const rateBuckets = o.rateBuckets ?? (limit === false ? undefined : new TokenBuckets(limit));
  const app = buildApp(rateBuckets === undefined ? o : { ...o, rateBuckets });
  const hono = getRequestListener(app.fetch);
  const fast = fastRpc({
    dispatch: o.dispatch,
    ...(o.relay === undefined ? {} : { relay: o.relay }),
    logger: o.logger,
    maxBatch: o.protection.rpcBatchMax,
    protection: o.protection,
    ...(o.host === undefined ? {} : { host: o.host }),
    ...(rateBuckets === undefined ? {} : { buckets: rateBuckets }),
    secureHeaders: await secureHeaderList(),
  });
  return { app, listener: fast === undefined ? hono : (req, res) => fast(req, res, hono) };
}

/**
 * A JSON-RPC batch larger than `max` is refused whole (400, -32600); a smaller one takes one more
 * rate-limit token per member beyond the first (the request itself took one), or is refused with 429.
 * Undefined: go ahead.
 */
export function batchRefusal(c: Context, payload: unknown, max: number): Response | undefined {
  if (!Array.isArray(payload)) return undefined;
  if (payload.length > max)
    return c.json(
      rpcError(
        null,
        RpcCode.InvalidRequest,
        `invalid request: a batch of ${payload.length} calls; at most ${max} per batch (BOT4_RPC_BATCH_MAX)`,
      ),
      400,
    );
  const take = c.get("rateTake");
  if (take === undefined || payload.length <= 1) return undefined;
  const wait = take(payload.length - 1);
  return wait > 0
    ? tooMany(c, wait, `rate limit exceeded by a batch of ${payload.length} calls`, clientOf(c))
    : undefined;
}
