import { z } from "zod";
import { type Agent, findAgent, manifest } from "../../core/agents/manifest.ts";
import { type LiveInstance, RegisteredTool, readInstances } from "../../adapters/nats/agent-registry.ts";
import type { Bus } from "../../adapters/nats/bus.ts";
import { callAgentTool, forwardRpcBytes } from "../../adapters/nats/tool-transport.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { ToolError } from "../../core/tools/errors.ts";
import type { RelayedCall } from "../../core/tools/relay.ts";
import type { CallIds } from "../../core/tools/tool.ts";

/** One agent's entry in the aggregated listing (`GET /tools` on the coordinator). */
export const AgentTools = z.object({
  agent: z.string(),
  alias: z.string(),
  title: z.string(),
  kind: z.enum(["service", "function"]),
  /** True while at least one instance heartbeats. */
  available: z.boolean(),
  instances: z.number().int(),
  tools: z.array(RegisteredTool),
});
export type AgentTools = z.infer<typeof AgentTools>;
export const ToolListing = z.object({ agents: z.array(AgentTools) });
export type ToolListing = z.infer<typeof ToolListing>;

/**
 * Every agent's tools and a way to call them. The coordinator's directory reads the registry and
 * routes over NATS; the CLI's (`bot4 mcp`) asks the coordinator over HTTP. The MCP server takes either.
 */
export interface ToolDirectory {
  list(): Promise<AgentTools[]>;
  /** Runs a tool; failures are ToolErrors naming the agent (unknown, unavailable, timeout, invalid). */
  call(agent: string, tool: string, args: unknown, meta?: CallIds): Promise<unknown>;
}

/** Resolves a name or seed alias to a manifest agent, or throws -32601 listing the known agents. */
export function resolveAgent(nameOrAlias: string): Agent {
  const agent = findAgent(nameOrAlias);
  if (agent === undefined) {
    throw new ToolError(
      RpcCode.MethodNotFound,
      `unknown agent "${nameOrAlias}" (known: ${manifest.map((a) => a.name).join(", ")})`,
      { agent: nameOrAlias },
    );
  }
  return agent;
}

/** Groups live registry entries into the listing, one row per manifest agent (absent ones included). */
export function listingOf(instances: readonly LiveInstance[]): AgentTools[] {
  return (manifest as readonly Agent[]).map((agent) => {
    const mine = instances.filter((i) => i.agent === agent.name);
    const newest = mine.reduce<LiveInstance | undefined>(
      (best, i) => (best === undefined || i.startedAt > best.startedAt ? i : best),
      undefined,
    );
    return {
      agent: agent.name,
      alias: agent.alias,
      title: agent.title,
      kind: agent.kind,
      available: mine.length > 0,
      instances: mine.length,
      tools: newest?.tools ?? [],
    };
  });
}

/** The coordinator's directory, plus the calls it makes for an agent already resolved. */
export interface NatsDirectory extends ToolDirectory {
  /** `call` for an agent's manifest name: no second lookup. */
  callAgent(name: string, tool: string, args: unknown, meta?: CallIds): Promise<unknown>;
  /** Forwards a JSON-RPC payload to an agent (by its manifest name) and answers its reply bytes. */
  forward(name: string, payload: string | Uint8Array, call: RelayedCall): Promise<Uint8Array>;
}

/**
 * The coordinator's directory: the listing from the KV registry (cached for `cacheMs`, so a burst of
 * `tools/list` costs one read), calls over NATS to the agent's queue group with a timeout.
 */
export function natsDirectory(bus: Bus, timeoutMs: number, cacheMs = 500): NatsDirectory {
  let cached: { at: number; value: Promise<LiveInstance[]> } | undefined;
  const instances = () => {
    const now = Date.now();
    if (cached === undefined || now - cached.at > cacheMs) {
      const value = readInstances(bus);
      cached = { at: now, value };
      value.catch(() => {
        cached = undefined;
      });
    }
    return cached.value;
  };
  /**
   * Runs `send` on the bus; a failure that is not the agent's own answer names the agent and tool.
   * The answer is `send`'s promise with one `catch`, no async frame of its own (the `/rpc` hot path).
   */
  const onBus = <T>(name: string, tool: string, send: () => Promise<T>): Promise<T> => {
    if (!bus.connected) {
      return Promise.reject(
        new ToolError(
          RpcCode.AgentUnavailable,
          `the coordinator is not connected to NATS: cannot reach agent "${name}" (tool ${tool})`,
          { agent: name, tool },
        ),
      );
    }
    return send().catch((err: unknown) => {
      if (err instanceof ToolError) throw err;
      throw new ToolError(
        RpcCode.AgentUnavailable,
        `call to agent "${name}" (tool ${tool}) failed on the bus: ${err instanceof Error ? err.message : String(err)}`,
        { agent: name, tool },
        { cause: err },
      );
    });
  };
  const callAgent = (name: string, tool: string, args: unknown, meta: CallIds = {}) =>
    onBus(name, tool, () => callAgentTool(bus, name, tool, args, { timeout: timeoutMs, ...definedOf(meta) }));
  return {
    async list() {
      return listingOf(await instances());
    },
    call: (agent, tool, args, meta) => callAgent(resolveAgent(agent).name, tool, args, meta),
    callAgent,
    forward: (name, payload, call) =>
      onBus(name, call.tool, () =>
        forwardRpcBytes(bus, name, payload, {
          timeout: timeoutMs,
          tool: call.tool,
          ...definedOf(call),
        }),
      ),
  };
}

function definedOf(meta: CallIds): CallIds {
  const out: CallIds = {};
  if (meta.requestId !== undefined) out.requestId = meta.requestId;
  if (meta.correlationId !== undefined) out.correlationId = meta.correlationId;
  return out;
}
