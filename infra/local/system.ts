import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { manifest, type ServiceAgent, serviceAgents } from "../../core/agents/manifest.ts";
import { Bus } from "../../adapters/nats/bus.ts";
import { untilConnected, waitOutOutage } from "../../adapters/nats/outage.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import type { Config } from "../../core/config.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import { agentProcess } from "../../core/agents/process.ts";
import { startLocalFunctions } from "../../functions/local.ts";
import { serveTriggerHttp } from "../../functions/trigger/http.ts";
import { protectionOf } from "../../hotpath/kit/protect.ts";
import type { RunningService, ServiceModule } from "../../hotpath/kit/types.ts";
import { ADMIN_USER, withCredentials } from "../nats/permissions.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface RunningSystem {
  /** The launcher's own connection (the admin user when the launcher made the credentials). */
  bus: Bus;
  services: RunningService[];
  /** Manifest agents without an implementation yet (no service module / function module). */
  notBuilt: string[];
  /** The trigger's /health and /metrics. */
  triggerUrl: string;
  stop(): Promise<void>;
}

function isServiceModule(mod: unknown): mod is ServiceModule {
  return typeof mod === "object" && mod !== null && typeof (mod as { start?: unknown }).start === "function";
}

/** Imports `hotpath/<agent>/service.ts` for a manifest agent; undefined when the agent has no service yet. */
async function serviceModule(agent: ServiceAgent): Promise<ServiceModule | undefined> {
  const file = join(root, "hotpath", agent.name, "service.ts");
  if (!existsSync(file)) return undefined;
  const mod: unknown = await import(pathToFileURL(file).href);
  if (!isServiceModule(mod))
    throw new Error(`hotpath/${agent.name}/service.ts does not export start(deps, options)`);
  return mod;
}

/**
 * Brings up the whole system on one bus: the topology, every hot-path service of the manifest (each
 * on its manifest port), and the trigger with every function in process. Stops in reverse order.
 *
 * With `credentials` (the embedded, authenticated nats-server), the topology is made as the admin
 * user and every agent gets a connection of its own as its own NATS user, so in-process agents have
 * exactly the permissions they have in containers. Without (NATS_URL given), every agent shares one
 * connection made with that URL as is.
 */
export async function startSystem(
  config: Config,
  natsUrl: string,
  logger: Logger,
  credentials?: ReadonlyMap<string, string>,
): Promise<RunningSystem> {
  const connect = (user: string | undefined) => {
    const password = user === undefined ? undefined : credentials?.get(user);
    if (user !== undefined && password === undefined)
      throw new Error(`no NATS password for user "${user}" in the launcher's credentials`);
    return Bus.connect({
      url: user === undefined || password === undefined ? natsUrl : withCredentials(natsUrl, user, password),
      name: user === undefined ? "bot4-local" : `bot4-local-${user}`,
      logger: logger.child({ component: "bus", ...(user === undefined ? {} : { user }) }),
    });
  };
  const bus = await connect(credentials === undefined ? undefined : ADMIN_USER);
  await waitOutOutage(bus, "stream topology", () => ensureTopology(bus), logger);
  const agentBuses = new Map<string, Bus>();
  if (credentials !== undefined) {
    try {
      for (const agent of manifest) agentBuses.set(agent.name, await connect(agent.name));
    } catch (err) {
      await Promise.all([...agentBuses.values(), bus].map((b) => b.drain().catch(() => undefined)));
      throw err;
    }
  }
  const busOf = (agent: string) => agentBuses.get(agent) ?? bus;
  const drainAll = () =>
    Promise.all([...agentBuses.values(), bus].map((b) => b.drain().catch(() => undefined)));
  const services: RunningService[] = [];
  const stoppers: (() => Promise<void>)[] = [];
  const notBuilt: string[] = [];
  let triggerUrl = "";
  try {
    for (const agent of serviceAgents) {
      const mod = await serviceModule(agent);
      if (mod === undefined) {
        logger.info({ agent: agent.name }, `${agent.title} (${agent.name}) is not built yet`);
        notBuilt.push(agent.name);
        continue;
      }
      // A service's start is not retried (it may hold half-made state), but it does not begin while
      // the bus is away: an outage during start-up costs time, not the system.
      await untilConnected(busOf(agent.name));
      const service = await mod.start(
        { config, bus: busOf(agent.name), logger: logger.child({ agent: agent.name }) },
        { port: agent.port + config.BOT4_PORT_OFFSET },
      );
      services.push(service);
      stoppers.push(() => service.stop());
      logger.info({ agent: agent.name, url: service.url }, `${agent.title} serving`);
    }
    const functions = await startLocalFunctions({
      config,
      bus,
      busOf,
      logger: logger.child({ component: "functions" }),
    });
    stoppers.push(() => functions.stop());
    const port = agentProcess.triggerPort + config.BOT4_PORT_OFFSET;
    const triggerHttp = await serveTriggerHttp(bus, functions, {
      port,
      host: config.BOT4_HOST,
      healthPath: agentProcess.healthPath,
      protection: protectionOf(config),
      logger,
    });
    stoppers.push(() => new Promise<void>((resolve) => triggerHttp.close(() => resolve())));
    triggerUrl = `http://${triggerHttp.boundHost}:${port}`;
    notBuilt.push(...functions.notImplemented);
    logger.info({ url: triggerUrl }, "trigger /health and /metrics serving");
  } catch (err) {
    for (const stop of stoppers.reverse()) await stop().catch(() => {});
    await drainAll();
    throw err;
  }
  return {
    bus,
    services,
    notBuilt,
    triggerUrl,
    async stop() {
      for (const stop of [...stoppers].reverse()) {
        await stop().catch((err: unknown) => logger.error({ err }, "stop failed"));
      }
      await drainAll();
    },
  };
}
