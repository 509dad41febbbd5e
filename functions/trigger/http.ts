import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import type { Bus } from "../../adapters/nats/bus.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import type { Registry } from "../../core/telemetry/metrics.ts";
import { browserGuard } from "../../hotpath/kit/guard.ts";
import { apiKeyAuth, bindHost } from "../../hotpath/kit/protect.ts";
import type { ProtectionOptions } from "../../hotpath/kit/types.ts";

export interface TriggerHttpOptions {
  port: number;
  /** Requested bind address; without API keys a non-loopback one falls back to 127.0.0.1 (kit rules). */
  host: string;
  healthPath?: string;
  /** The kit's protection (API keys, Host/Origin allowlists, failed-auth limit). */
  protection: ProtectionOptions;
  logger: Logger;
}

/** The trigger's Hono app: `/health` open, everything else behind the kit's Host/Origin check and keys. */
export function triggerApp(
  bus: Bus,
  functions: { running: readonly string[]; metrics: Registry },
  protection: ProtectionOptions,
  healthPath = "/health",
  boundHost?: string,
): Hono {
  const app = new Hono();
  app.get(healthPath, (c) =>
    c.json(
      { status: bus.connected ? "ok" : "bus disconnected", functions: functions.running },
      bus.connected ? 200 : 503,
    ),
  );
  app.use(browserGuard(protection, boundHost));
  if (protection.apiKeys.length > 0)
    app.use(
      apiKeyAuth(
        protection.apiKeys,
        protection.authFailuresPerMinute === false ? false : { perMinute: protection.authFailuresPerMinute },
      ),
    );
  app.get("/metrics", async (c) => {
    c.header("Content-Type", functions.metrics.contentType);
    return c.body(await functions.metrics.metrics());
  });
  app.notFound((c) => c.body(null, 404));
  return app;
}

/**
 * The trigger's own small HTTP side: `GET /health` (open; 200 while the bus is up, with the functions
 * it feeds) and `GET /metrics` (consumer lag, outcomes, latencies in Prometheus text; wants a key when
 * BOT4_API_KEYS is set). It follows the kit's rules: API keys, Host/Origin allowlist, loopback-only
 * binding without keys. The container entry serves it on the trigger port; the launcher beside the
 * hot-path services.
 */
export function serveTriggerHttp(
  bus: Bus,
  functions: { running: readonly string[]; metrics: Registry },
  options: TriggerHttpOptions,
): Promise<Server & { boundHost: string }> {
  const host = bindHost(options.host, options.protection, options.logger);
  const app = triggerApp(bus, functions, options.protection, options.healthPath, host);
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve(Object.assign(server, { boundHost: host }));
    });
  });
}
