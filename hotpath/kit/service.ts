import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type Heartbeat,
  processVersion,
  startInstanceHeartbeat,
} from "../../adapters/nats/agent-registry.ts";
import { serveToolsOverNats } from "../../adapters/nats/tool-transport.ts";
import { createMetricsRegistry, toolMetrics } from "../../core/telemetry/metrics.ts";
import { localDispatch } from "../../core/tools/execute.ts";
import { childWith } from "../../core/telemetry/log.ts";
import { httpListener } from "./http.ts";
import { busMetrics, instrument, instrumentRelay } from "./instrument.ts";
import { bindHost, protectionOf } from "./protect.ts";
import type { RunningService, ServeOptions, ServiceDeps, ServiceSpec } from "./types.ts";

/**
 * Serves one agent: its tools over HTTP (`/tools/:tool`, `/rpc`) and over NATS (`tools.<agent>` in the
 * queue group `<agent>`, so replicas share calls), probes and Prometheus metrics, and a heartbeat into
 * the agent registry. Resolves once the HTTP port is bound, the NATS subscription is registered with
 * the server and the first heartbeat is written.
 */
export async function startService(
  spec: ServiceSpec,
  deps: ServiceDeps,
  options: ServeOptions = {},
): Promise<RunningService> {
  const agent = spec.agent.name;
  const instanceId = options.instanceId ?? randomBytes(6).toString("hex");
  const version = spec.version ?? processVersion;
  const logger = childWith(deps.logger, { agent, instanceId });
  const startedAt = Date.now();
  const deadline = options.shutdownDeadlineMs ?? 10_000;
  const protection = protectionOf(deps.config, options.protection);
  const host = bindHost(options.host ?? deps.config.BOT4_HOST, protection, logger);

  const metrics = createMetricsRegistry(agent);
  const perTool = toolMetrics(metrics);
  busMetrics(metrics, deps.bus);
  spec.metrics?.(metrics);

  let accepting = true;
  const own = instrument(localDispatch([spec.registry]), spec.registry, perTool);
  const dispatch = spec.dispatch === undefined ? own : instrument(spec.dispatch, spec.registry, perTool);
  const { app, listener } = await httpListener({
    spec,
    bus: deps.bus,
    logger,
    metrics,
    dispatch,
    ...(spec.relay === undefined ? {} : { relay: instrumentRelay(spec.relay, perTool) }),
    protection,
    instanceId,
    version,
    startedAt,
    accepting: () => accepting,
    host,
  });
  const server = createServer(listener);
  const port = await listen(server, options.port ?? spec.agent.port, host);
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  const subscription = serveToolsOverNats(deps.bus, agent, own);
  let heartbeat: Heartbeat | undefined;
  try {
    await deps.bus.nc.flush();
    heartbeat = await startInstanceHeartbeat(
      deps.bus,
      { agent, instanceId, kind: "service", version, tools: spec.registry.describe(), startedAt, url },
      logger,
    );
  } catch (err) {
    subscription.unsubscribe();
    await closeServer(server, 0);
    throw err;
  }
  logger.info({ url, tools: spec.registry.tools.size, version }, "service started");

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      accepting = false;
      logger.info({ deadlineMs: deadline }, "service stopping");
      const work = (async () => {
        await heartbeat?.stop();
        await subscription.drain().catch((err: unknown) => logger.warn({ err }, "subscription drain failed"));
        await closeServer(server, deadline);
        await spec.onStop?.();
      })();
      const timedOut = await Promise.race([
        work.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), deadline).unref()),
      ]);
      if (timedOut) {
        logger.warn({ deadlineMs: deadline }, "stop deadline reached; closing what is left");
        server.closeAllConnections();
      }
      removeSignals();
      logger.info("service stopped");
    })();
    return stopping;
  };

  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, "signal received");
    void stop()
      .then(() => deps.bus.drain())
      .finally(() => process.exit(0));
  };
  const removeSignals = () => {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  };
  if (options.handleSignals === true) {
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  }

  return { agent, instanceId, url, port, host, app, metrics, stop };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops accepting connections, lets in-flight requests finish, and cuts the rest at the deadline. */
function closeServer(server: Server, deadlineMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const timer = setTimeout(() => server.closeAllConnections(), deadlineMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
