import { createServer, type Server } from "node:http";
import type { Bus } from "../../core/bus/bus.ts";
import type { Registry } from "../../core/telemetry/metrics.ts";

/**
 * The trigger's own small HTTP side: `GET /health` (200 while the bus is up, with the functions it
 * feeds) and `GET /metrics` (consumer lag, outcomes, latencies in Prometheus text). The container
 * entry serves it on the trigger port; the launcher serves it beside the hot-path services.
 */
export function serveTriggerHttp(
  bus: Bus,
  functions: { running: readonly string[]; metrics: Registry },
  port: number,
  host: string,
  healthPath = "/health",
): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === healthPath) {
      res.writeHead(bus.connected ? 200 : 503, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ status: bus.connected ? "ok" : "bus disconnected", functions: functions.running }),
      );
      return;
    }
    if (req.method === "GET" && req.url === "/metrics") {
      void functions.metrics.metrics().then((text) => {
        res.writeHead(200, { "content-type": functions.metrics.contentType });
        res.end(text);
      });
      return;
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
