import { findAgent } from "../../core/agents/manifest.ts";
import type { Bus } from "../../adapters/nats/bus.ts";
import { RpcCode, type ToolExecuteParams } from "../../core/protocol/jsonrpc.ts";
import { Gauge, type Registry, type ToolMetrics } from "../../core/telemetry/metrics.ts";
import { ToolError } from "../../core/tools/errors.ts";
import type { Dispatch } from "../../core/tools/execute.ts";
import { type ToolRegistry, servesAgent } from "../../core/tools/registry.ts";
import { type RpcRelay, replyErrorCode } from "../../core/tools/relay.ts";

/** What became of a call, as a bounded metric label. */
export function outcomeOf(err: unknown): string {
  return err instanceof ToolError ? outcomeOfCode(err.code) : "error";
}

/** {@link outcomeOf} for a JSON-RPC error code. */
export function outcomeOfCode(code: number): string {
  switch (code) {
    case RpcCode.InvalidParams:
      return "invalid";
    case RpcCode.MethodNotFound:
      return "not_found";
    case RpcCode.Rejected:
      return "rejected";
    case RpcCode.AgentUnavailable:
      return "unavailable";
    case RpcCode.Timeout:
      return "timeout";
    default:
      return "error";
  }
}

/**
 * Wraps a dispatch with per-tool call counts and latency. Labels stay bounded: the agent's own tools
 * by name, calls routed to another agent as `<agent>.<tool>` once the tool answered, and anything
 * unknown as `unknown`.
 */
export function instrument(dispatch: Dispatch, registry: ToolRegistry, metrics: ToolMetrics): Dispatch {
  const record = recorder(metrics);
  /** The label of a call: the own tool by name, `<agent>.<tool>` (or `.?` on failure) for another agent's. */
  const labelOf = (call: ToolExecuteParams, outcome: string): string => {
    if (servesAgent(registry, call.agent)) return registry.tools.has(call.tool) ? call.tool : "unknown";
    const other = findAgent(call.agent);
    return other === undefined ? "unknown" : `${other.name}.${outcome === "ok" ? call.tool : "?"}`;
  };
  return async (call, ctx) => {
    const started = performance.now();
    try {
      const result = await dispatch(call, ctx);
      record(labelOf(call, "ok"), ctx.transport, "ok", (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      const outcome = outcomeOf(err);
      record(labelOf(call, outcome), ctx.transport, outcome, (performance.now() - started) / 1000);
      throw err;
    }
  };
}

/**
 * A relay's forwarded calls counted like routed ones (`<agent>.<tool>` once the tool answered,
 * `<agent>.?` otherwise), the outcome read from the reply's prefix (an error reply is read for its code).
 */
export function instrumentRelay(relay: RpcRelay, metrics: ToolMetrics, transport = "rpc"): RpcRelay {
  const record = recorder(metrics);
  // `<agent>.<tool>` built once per pair, not concatenated on every call.
  const labels = new Map<string, Map<string, string>>();
  const labelOf = (agent: string, tool: string): string =>
    cached(
      cached(labels, agent, () => new Map<string, string>()),
      tool,
      () => `${agent}.${tool}`,
    );
  return {
    target: (name) => relay.target(name),
    // One `then` on the relay's promise and no async frame of its own: this is the coordinator's
    // hot path.
    forward(agent, payload, call) {
      const started = performance.now();
      return relay.forward(agent, payload, call).then(
        (reply) => {
          const code = replyErrorCode(reply, call.id);
          const seconds = (performance.now() - started) / 1000;
          if (code === undefined) record(labelOf(agent, call.tool), transport, "ok", seconds);
          else record(labelOf(agent, "?"), transport, outcomeOfCode(code), seconds);
          return reply;
        },
        (err: unknown) => {
          record(labelOf(agent, "?"), transport, outcomeOf(err), (performance.now() - started) / 1000);
          throw err;
        },
      );
    },
  };
}

/**
 * Records one call's count and latency through observers bound once per label set, found by plain
 * lookups (tool, then transport, then outcome) without building a key string per call.
 */
function recorder(metrics: ToolMetrics) {
  type Bound = { latency: (seconds: number) => void; calls: Map<string, () => void> };
  const byTool = new Map<string, Map<string, Bound>>();
  return (tool: string, transport: string, outcome: string, seconds: number) => {
    const byTransport = cached(byTool, tool, () => new Map<string, Bound>());
    const bound = cached(byTransport, transport, () => ({
      latency: metrics.latency(tool, transport),
      calls: new Map<string, () => void>(),
    }));
    bound.latency(seconds);
    cached(bound.calls, outcome, () => metrics.call(tool, transport, outcome))();
  };
}

/** `map`'s value at `key`, made by `make` and kept there the first time. */
function cached<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/** Bus gauges read at scrape time: connection state and the connection's message counters. */
export function busMetrics(registry: Registry, bus: Bus): void {
  new Gauge({
    name: "bot4_bus_connected",
    help: "1 while the NATS connection is up",
    registers: [registry],
    collect() {
      this.set(bus.connected ? 1 : 0);
    },
  });
  new Gauge({
    name: "bot4_bus_messages",
    help: "Messages through this process's NATS connection since it opened",
    labelNames: ["direction"] as const,
    registers: [registry],
    collect() {
      const s = bus.nc.stats();
      this.set({ direction: "in" }, s.inMsgs);
      this.set({ direction: "out" }, s.outMsgs);
    },
  });
  new Gauge({
    name: "bot4_bus_bytes",
    help: "Bytes through this process's NATS connection since it opened",
    labelNames: ["direction"] as const,
    registers: [registry],
    collect() {
      const s = bus.nc.stats();
      this.set({ direction: "in" }, s.inBytes);
      this.set({ direction: "out" }, s.outBytes);
    },
  });
}
