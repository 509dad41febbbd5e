import { hostname } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { z } from "zod";
import { functionAgents, manifest, type ServiceAgent, serviceAgents } from "../../core/agents/manifest.ts";
import { agentProcess, containerRoles } from "../../core/agents/process.ts";
import { Bus } from "../../adapters/nats/bus.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { type Config, loadConfig } from "../../core/config.ts";
import { createLogger, type Logger } from "../../core/telemetry/log.ts";
import { serveTriggerHttp } from "../../functions/trigger/http.ts";
import { startLocalFunctions } from "../../functions/local.ts";
import { protectionOf } from "../../hotpath/kit/protect.ts";
import type { ServiceModule } from "../../hotpath/kit/types.ts";

/**
 * The container entry: `AGENT` picks what this container runs, so one image serves every role.
 *   AGENT=<service agent>   hotpath/<agent>/service.ts, bound to BOT4_HOST, SIGTERM drains and exits
 *   AGENT=trigger           the trigger for BOT4_FUNCTIONS (comma-separated; default every function),
 *                           with their tools over NATS, and /health + /metrics on the trigger port
 *   AGENT=topology          creates streams, KV buckets and object stores, then exits
 * BOT4_PORT_OFFSET shifts every port (as it does for the launcher).
 * NATS_URL may carry the agent's credentials (`nats://risk:<password>@nats:4222`).
 */
const root = fileURLToPath(new URL("../../", import.meta.url));

export const EntryEnv = z.object({
  [agentProcess.roleVariable]: z.enum(containerRoles(manifest) as [string, ...string[]], {
    message: `must be one of ${containerRoles(manifest).join(", ")}`,
  }),
  [agentProcess.functionsVariable]: z
    .string()
    .optional()
    .transform((s) =>
      (s ?? "")
        .split(",")
        .map((f) => f.trim())
        .filter((f) => f.length > 0),
    )
    .pipe(
      z.array(
        z.enum(functionAgents.map((f) => f.name) as [string, ...string[]], {
          message: `must list functions of the manifest (${functionAgents.map((f) => f.name).join(", ")})`,
        }),
      ),
    ),
});

async function runService(
  agent: ServiceAgent,
  deps: { config: Config; bus: Bus; logger: Logger },
): Promise<void> {
  const mod = (await import(
    pathToFileURL(join(root, agentProcess.serviceModule(agent.name))).href
  )) as ServiceModule;
  await mod.start(deps, { handleSignals: true, port: agent.port + deps.config.BOT4_PORT_OFFSET });
}

async function runTrigger(
  names: readonly string[],
  deps: { config: Config; bus: Bus; logger: Logger },
): Promise<void> {
  const { config, bus, logger } = deps;
  // A shard of functions that are not implemented yet idles (healthy, nothing to do) rather than
  // crash-looping its task: startLocalFunctions logs them once.
  const functions = await startLocalFunctions(deps, { only: names, processMetrics: true });
  const server = await serveTriggerHttp(bus, functions, {
    port: agentProcess.triggerPort + config.BOT4_PORT_OFFSET,
    host: config.BOT4_HOST,
    healthPath: agentProcess.healthPath,
    protection: protectionOf(config),
    logger,
  });
  const stop = async (signal: NodeJS.Signals) => {
    logger.info({ signal }, "trigger stopping");
    await functions.stop();
    server.close();
    await bus.drain();
    process.exit(0);
  };
  process.once("SIGTERM", (s) => void stop(s));
  process.once("SIGINT", (s) => void stop(s));
}

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const parsed = EntryEnv.safeParse(env);
  if (!parsed.success) {
    throw new Error(
      `invalid container environment:\n${parsed.error.issues.map((i) => `  ${String(i.path[0])}: ${i.message}`).join("\n")}`,
    );
  }
  const role = parsed.data[agentProcess.roleVariable] as string;
  const config = loadConfig(env);
  if (config.NATS_URL === undefined)
    throw new Error("NATS_URL: required in a container (nats://<user>:<password>@host:4222)");
  const logger = createLogger(`bot4-${role}`, config.LOG_LEVEL);
  const bus = await Bus.connect({ url: config.NATS_URL, name: `bot4-${role}-${hostname()}`, logger });
  if (role === agentProcess.topologyRole) {
    await ensureTopology(bus);
    await bus.drain();
    return;
  }
  if (role === agentProcess.triggerRole) {
    await runTrigger(parsed.data[agentProcess.functionsVariable] as string[], { config, bus, logger });
    return;
  }
  const agent = serviceAgents.find((a) => a.name === role);
  if (agent === undefined) throw new Error(`${agentProcess.roleVariable}=${role} is not a service agent`);
  await runService(agent, { config, bus, logger });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
