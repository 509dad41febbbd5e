import { Bus } from "../../adapters/nats/bus.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { callTool, serveToolsOverNats } from "../../adapters/nats/tool-transport.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { localDispatch } from "../../core/tools/execute.ts";
import { createToolRegistry } from "../../core/tools/registry.ts";
import { kellyTool } from "../../test/fixtures/kelly.ts";
import type { BenchCase, BenchResult } from "../harness.ts";
import { measureInterleaved, measureSequential } from "../harness.ts";

const kelly = kellyTool("bench");

/** The floor (raw request/reply), a tool call through the registry over NATS, and JetStream publish with acks. */
const busCase: BenchCase = {
  name: "bus",
  order: 0,
  async run({ natsUrl, scale }) {
    const connect = (name: string) => Bus.connect({ url: natsUrl, name, logger: quietLogger(name) });
    const server = await connect("bench-server");
    const client = await connect("bench-client");
    const n = Math.max(1000, Math.round(20_000 * scale));
    const results: BenchResult[] = [];
    try {
      server.nc.subscribe("bench.echo", {
        callback: (_e, m) => {
          m.respond(m.data);
        },
      });
      const payload = JSON.stringify({
        id: "x",
        method: "tool.execute",
        params: { agent: "risk", tool: "calculate_kelly" },
      });
      await server.nc.flush();
      serveToolsOverNats(server, "risk", localDispatch([createToolRegistry("risk", [kelly])]));
      await server.nc.flush();
      const args = { win_probability: 0.6, win_return: 1, loss_return: -1 };
      // Interleaved, so machine noise hits the floor and the tool call alike.
      const [floor, tool] = (await measureInterleaved(
        [
          () => client.nc.request("bench.echo", payload, { timeout: 5000 }),
          () => callTool(client, "riskquant", "calculate_kelly", args),
        ],
        n,
      )) as [Awaited<ReturnType<typeof measureSequential>>, Awaited<ReturnType<typeof measureSequential>>];
      results.push({ case: "nats request/reply echo (floor)", unit: "round trip", ...floor });
      results.push({
        case: "tool call via registry over NATS",
        unit: "call",
        ...tool,
        notes: {
          p50_vs_floor: tool.latency.p50_us / floor.latency.p50_us,
          p99_vs_floor: tool.latency.p99_us / floor.latency.p99_us,
        },
      });

      await ensureTopology(client);
      let i = 0;
      const event = () =>
        makeEvent({
          type: "bench.published",
          source: "bench",
          subject: subjects.events.of("bench", "published"),
          data: { i: i++ },
        });
      const sync = await measureSequential(() => client.publishEvent(event()), Math.round(n / 4));
      results.push({ case: "jetstream publish+ack (sequential)", unit: "message", ...sync });

      const total = Math.max(5000, Math.round(50_000 * scale));
      const window = 256;
      const start = process.hrtime.bigint();
      const inflight = new Set<Promise<unknown>>();
      for (let k = 0; k < total; k++) {
        const p: Promise<unknown> = client.publishEvent(event()).then(() => inflight.delete(p));
        inflight.add(p);
        if (inflight.size >= window) await Promise.race(inflight);
      }
      await Promise.all(inflight);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      results.push({
        case: "jetstream publish+ack (async, 256 in flight)",
        unit: "message",
        throughput: Math.round(total / seconds),
      });
    } finally {
      await client.drain();
      await server.drain();
    }
    return results;
  },
};
export default busCase;
