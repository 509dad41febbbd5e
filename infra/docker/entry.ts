import { createServer, type Server } from "node:http";
import { hostname } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Subscription } from "@nats-io/transport-node";
import { z } from "zod";
import { functionAgents, manifest, type ServiceAgent, serviceAgents } from "../../core/agents/manifest.ts";
import { agentProcess, containerRoles } from "../../core/agents/process.ts";
import { Bus } from "../../core/bus/bus.ts";
import { ensureTopology } from "../../core/bus/topology.ts";
import { serveToolsOverNats } from "../../core/bus/tool-transport.ts";
import { type Config, loadConfig } from "../../core/config.ts";
import { functionRegistry, functionToolDeps } from "../../core/functions/tools-app.ts";
import { createLogger, type Logger } from "../../core/telemetry/log.ts";
import { createMetricsRegistry } from "../../core/telemetry/metrics.ts";
import { localDispatch } from "../../core/tools/execute.ts";
import { loadFunction } from "../../functions/modules.ts";
import { inProcessInvoker } from "../../functions/trigger/inprocess.ts";
import { lambdaInvoker } from "../../functions/trigger/lambda.ts";
import { triggerMetrics } from "../../functions/trigger/metrics.ts";
import { type RunningTrigger, startTrigger } from "../../functions/trigger/trigger.ts";
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
  const metrics = createMetricsRegistry(agentProcess.triggerRole, true);
  const tm = triggerMetrics(metrics);
  const invoker =
    config.FUNCTION_INVOKER === "lambda"
      ? lambdaInvoker({ config, logger: logger.child({ invoker: "lambda" }) })
      : inProcessInvoker({ config, logger });
  const triggers: RunningTrigger[] = [];
  const subscriptions: Subscription[] = [];
  for (const name of names.length > 0 ? names : functionAgents.map((f) => f.name)) {
    const def = await loadFunction(name);
    if (def === undefined) {
      // A shard of a function that is not implemented yet idles (healthy, nothing to do) rather than
      // crash-looping its task: the log says so once.
      logger.warn(
        { function: name },
        `function ${name} has no functions/${name}/function.ts yet; this shard idles`,
      );
      continue;
    }
    const fnLogger = logger.child({ function: name });
    const registry = functionRegistry(
      def,
      functionToolDeps(def, { config, logger: fnLogger, bus: async () => bus }),
    );
    subscriptions.push(serveToolsOverNats(bus, def.name, localDispatch([registry])));
    triggers.push(await startTrigger(def, { bus, config, logger: fnLogger }, { invoker, metrics: tm }));
  }
  const server: Server = createServer((req, res) => {
    if (req.url === agentProcess.healthPath) {
      res.writeHead(bus.connected ? 200 : 503, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          status: bus.connected ? "ok" : "bus disconnected",
          triggers: triggers.map((t) => t.function),
        }),
      );
      return;
    }
    if (req.url === "/metrics") {
      void metrics.metrics().then((text) => {
        res.writeHead(200, { "content-type": metrics.contentType });
        res.end(text);
      });
      return;
    }
    res.writeHead(404).end();
  });
  server.listen(agentProcess.triggerPort + config.BOT4_PORT_OFFSET, config.BOT4_HOST);
  const stop = async (signal: NodeJS.Signals) => {
    logger.info({ signal }, "trigger stopping");
    for (const s of subscriptions) s.unsubscribe();
    await Promise.all(triggers.map((t) => t.stop()));
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
