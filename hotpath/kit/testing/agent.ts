import { z } from "zod";
import type { ServiceAgent } from "../../../core/agents/manifest.ts";
import { loadConfig } from "../../../core/config.ts";
import { createToolRegistry } from "../../../core/tools/registry.ts";
import { defineTool } from "../../../core/tools/tool.ts";
import type { ServiceSpec } from "../types.ts";

export { kellyFraction, kellyTool } from "../../../test/fixtures/kelly.ts";
import { kellyTool } from "../../../test/fixtures/kelly.ts";

/** Echoes the ids a call arrived with, so tests can see request ids travel across NATS. */
export const whoami = defineTool({
  name: "whoami",
  description: "Echoes the call's request and correlation ids and transport (test tool)",
  input: z.object({}),
  output: z.object({ requestId: z.string(), correlationId: z.string(), transport: z.string() }),
  handler: (_args, ctx) => ({
    requestId: ctx.requestId,
    correlationId: ctx.correlationId,
    transport: ctx.transport,
  }),
});

/** Takes as long as asked, for deadline and timeout tests. */
export const sleep = defineTool({
  name: "sleep",
  description: "Waits the given milliseconds (test tool)",
  input: z.object({ ms: z.number().int().min(0).max(60_000) }),
  output: z.object({ slept: z.number() }),
  handler: async ({ ms }) => {
    await new Promise((r) => setTimeout(r, ms));
    return { slept: ms };
  },
});

/** A test double of a manifest service agent: same name, so aliases and routing work. */
export function testSpec(
  agent: ServiceAgent,
  servedBy = "test",
  overrides: Partial<ServiceSpec> = {},
): ServiceSpec {
  return {
    agent,
    registry: createToolRegistry(agent.name, [kellyTool(servedBy), whoami, sleep]),
    version: "9.9.9-test",
    ...overrides,
  };
}

/** A config as a test wants it: defaults plus the given variables. */
export const testConfig = (env: Record<string, string> = {}) => loadConfig(env);
