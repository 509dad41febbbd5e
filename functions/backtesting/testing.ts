import { ensureTopology } from "../../adapters/nats/topology.ts";
import { functionRegistry, functionToolDeps } from "../../core/functions/tool-deps.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import type { ToolContext } from "../../core/tools/tool.ts";
import { privateNats, testBus } from "../../test/nats.ts";
import { testConfig } from "../trigger/testing.ts";
import { definition } from "./function.ts";

/**
 * One test file's backtester (tests only): a private nats-server with the topology, and the
 * function's tools served over it as the host serves them.
 */
export async function backtestingTestbed(name: string) {
  const config = testConfig();
  const logger = quietLogger(name);
  const ctx: ToolContext = { requestId: "r1", correlationId: "c1", transport: "local", logger };
  const server = await privateNats();
  const bus = await testBus(server.url);
  await ensureTopology(bus);
  const registry = functionRegistry(
    definition,
    functionToolDeps(definition, { config, logger, bus: async () => bus }),
  );
  const call = (tool: string, args: unknown) => registry.call(tool, args, ctx);
  return { config, logger, ctx, bus, registry, call };
}
