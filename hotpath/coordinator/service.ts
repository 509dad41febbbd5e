import { randomUUID } from "node:crypto";
import { type ServiceAgent, findAgent, manifest } from "../../core/agents/manifest.ts";
import { processVersion, readInstances } from "../../adapters/nats/agent-registry.ts";
import { Counter, Gauge } from "../../core/telemetry/metrics.ts";
import { createToolRegistry } from "../../core/tools/registry.ts";
import type { RpcRelay } from "../../core/tools/relay.ts";
import { startService } from "../kit/service.ts";
import type { RunningService, ServeOptions, ServiceDeps } from "../kit/types.ts";
import { type ToolDirectory, natsDirectory, resolveAgent } from "./directory.ts";
import { LiveHub, mountLive } from "./live.ts";
import { venueModes } from "../../core/venues.ts";
import { mcpPolicy, mountMcp } from "./mcp.ts";
import { systemStatus } from "./status.ts";
import { coordinatorTools } from "./tools.ts";
import { mountDashboard } from "./web.ts";
import { type Notifier, startNotifier, webhookOptions } from "./webhooks.ts";

/**
 * The coordinator (the seed's MCP Coordinator, :3000): `POST /rpc` routes `tool.execute` to the owning
 * agent over NATS, `GET /status` lists every agent of the manifest, `GET /tools` aggregates every
 * agent's tools, `/mcp` serves them as one MCP server. Its own tools are served like any agent's.
 */
export async function start(deps: ServiceDeps, options: ServeOptions = {}): Promise<RunningService> {
  const agent = findAgent("coordinator") as ServiceAgent;
  const { bus, logger } = deps;
  const registry = createToolRegistry(agent.name, coordinatorTools(bus));
  const remote = natsDirectory(bus, deps.config.BOT4_TOOL_TIMEOUT_MS);
  let mcpCalls: Counter | undefined;
  const live = new LiveHub(bus, logger.child({ component: "live" }));
  const hooks = webhookOptions(deps.config);
  let mcp: ReturnType<typeof mountMcp> | undefined;

  /** Own tools run here; every other agent's go over NATS to its queue group. Resolved once per call. */
  const directory: ToolDirectory = {
    list: remote.list,
    call(name, tool, args, meta = {}) {
      const target = resolveAgent(name);
      if (target.name !== agent.name) return remote.callAgent(target.name, tool, args, meta);
      const requestId = meta.requestId ?? randomUUID();
      return registry.call(tool, args, {
        requestId,
        correlationId: meta.correlationId ?? requestId,
        transport: "mcp",
        logger: logger.child({ requestId, tool }),
      });
    },
  };
  /** `POST /rpc`: own tools run here, other agents' calls are forwarded as bytes, replies passed back as bytes. */
  const relay: RpcRelay = {
    target(name) {
      const target = resolveAgent(name).name;
      return target === agent.name ? undefined : target;
    },
    forward: remote.forward,
  };

  const service = await startService(
    {
      agent,
      registry,
      version: processVersion,
      relay,
      listTools: async () => ({ agents: await directory.list() }),
      ready: () => bus.connected,
      onStop: async () => {
        await mcp?.close();
      },
      metrics: (prom) => {
        new Gauge({
          name: "bot4_agent_instances",
          help: "Live instances per agent of the manifest, from the registry",
          labelNames: ["target"] as const,
          registers: [prom],
          async collect() {
            const live = await readInstances(bus).catch(() => []);
            for (const a of manifest)
              this.set({ target: a.name }, live.filter((i) => i.agent === a.name).length);
          },
        });
        new Gauge({
          name: "bot4_live_clients",
          help: "Dashboard event streams (GET /events) open now",
          registers: [prom],
          collect() {
            this.set(live.size);
          },
        });
        mcpCalls = new Counter({
          name: "bot4_mcp_requests_total",
          help: "MCP Streamable HTTP requests",
          registers: [prom],
        });
      },
      routes: (app) => {
        app.get("/status", async (c) =>
          c.json({ ...(await systemStatus(bus)), venues: venueModes(deps.config) }),
        );
        app.use("/mcp", async (_c, next) => {
          mcpCalls?.inc();
          await next();
        });
        mcp = mountMcp(app, directory, logger, processVersion, {
          policy: mcpPolicy(deps.config),
          maxSessions: deps.config.BOT4_MCP_SESSIONS_MAX,
          batchMax: options.protection?.rpcBatchMax ?? deps.config.BOT4_RPC_BATCH_MAX,
        });
        mountLive(app, live);
      },
      publicRoutes: (app) =>
        mountDashboard(app, {
          auth: (options.protection?.apiKeys ?? deps.config.BOT4_API_KEYS).length > 0,
        }),
    },
    deps,
    options,
  );
  let notifier: Notifier | undefined;
  try {
    if (hooks !== undefined)
      notifier = await startNotifier(bus, logger.child({ component: "webhooks" }), hooks);
  } catch (err) {
    live.stop();
    await service.stop();
    throw err;
  }
  // Event streams never finish on their own: end them before the server waits for open requests.
  return {
    ...service,
    stop: async () => {
      live.stop();
      await notifier?.stop();
      await service.stop();
    },
  };
}
