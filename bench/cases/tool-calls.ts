import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { findAgent, type ServiceAgent } from "../../core/agents/manifest.ts";
import { Bus } from "../../adapters/nats/bus.ts";
import { callTool } from "../../adapters/nats/tool-transport.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { start as startCoordinator } from "../../hotpath/coordinator/service.ts";
import { startService } from "../../hotpath/kit/service.ts";
import { testConfig, testSpec } from "../../hotpath/kit/testing/agent.ts";
import { type BenchCase, type BenchResult, Recorder } from "../harness.ts";
import { rawClient } from "../raw-http.ts";

const args = { win_probability: 0.6, win_return: 1.0, loss_return: -1.0 };
const RAW_SUBJECT = "bench.tool_calls.raw";

/** One POST's request bytes for {@link rawClient} (the same bytes every call). */
function postBytes(url: URL, body: string): string {
  return (
    `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/**
 * Tool-call latency through the service kit and the coordinator, each beside the raw NATS
 * request/reply round trip measured in the same run (interleaved rounds, so drift hits all alike):
 *   raw      — a bare subscriber answering a fixed payload (the floor);
 *   nats     — `callTool` to a kit-served agent: JSON-RPC, zod in and out, metrics, queue group;
 *   http     — `POST /tools/calculate_kelly` on the agent itself;
 *   coord    — `POST /rpc` (the seed's tool.execute) on the coordinator, which routes over NATS;
 *   bridge   — the coordinator path's floor: a bare node:http handler doing one raw NATS request
 *              to the bare subscriber (the floor issue #20 measures /rpc against);
 *   httpEcho — a bare node:http handler answering the fixed reply with no NATS at all: the HTTP
 *              stack's own cost, client and server, which every HTTP lane above the raw floor pays;
 *   rawAgent — the raw request of the `raw` lane sent to the kit-served agent instead (its reply bytes
 *              untouched): the NATS floor with the agent's own work in it, which `coord` also does;
 *   rawThenEcho — the raw round trip, then the HTTP echo, one after the other (no nesting): what the
 *              bridge would cost if its two parts only added up; on a 2-core host they do not;
 *   agentBridge — the same bare handler forwarding the body's bytes to the kit-served agent
 *              (`tools.risk`) and its reply bytes back: what the coordinator's hop costs when it
 *              does nothing but forward, with the agent's own work in it as in `coord`.
 * Every process part runs in this one process, with separate NATS connections per side, so each
 * HTTP hop's client and server both count in it. Every HTTP lane uses the same client, the leanest
 * (bench/raw-http.ts: one keep-alive socket, the same request bytes each call), so what a lane
 * measures beyond the raw floor is the server side's: on a 2-core host node:http's own client (an
 * Agent) added 40 µs to the echo and 160–240 µs to the bridge and /rpc, undici's `Client` 30 and
 * 120–160 µs.
 */
const toolCalls: BenchCase = {
  name: "tool-calls",
  order: 20,
  async run(ctx) {
    const logger = quietLogger("bench");
    const connect = (name: string) => Bus.connect({ url: ctx.natsUrl, name, logger });
    const [agentBus, coordBus, clientBus, rawBus] = await Promise.all([
      connect("bench-agent"),
      connect("bench-coordinator"),
      connect("bench-client"),
      connect("bench-raw"),
    ]);
    await ensureTopology(agentBus);
    const config = testConfig();
    const protection = { rateLimit: false as const };
    const risk = findAgent("risk") as ServiceAgent;
    const agent = await startService(
      testSpec(risk, "bench"),
      { config, bus: agentBus, logger },
      { port: 0, protection },
    );
    const coordinator = await startCoordinator({ config, bus: coordBus, logger }, { port: 0, protection });
    const reply = new TextEncoder().encode('{"jsonrpc":"2.0","id":"x","result":{"kelly_fraction":0.2}}');
    rawBus.nc.subscribe(RAW_SUBJECT, { queue: "bench", callback: (_e, msg) => void msg.respond(reply) });
    await rawBus.nc.flush();
    const rawPayload = JSON.stringify({
      jsonrpc: "2.0",
      id: "x",
      method: "tool.execute",
      params: { agent: "risk", tool: "calculate_kelly", args },
    });
    const bridgeTo = (subject: string) =>
      createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          clientBus.request(subject, Buffer.concat(chunks), 5_000).then(
            (m) => res.end(m.data),
            (err: unknown) => res.writeHead(500).end(String(err)),
          );
        });
      });
    const listen = async (server: ReturnType<typeof createServer>) => {
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
      return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    };
    const bridge = bridgeTo(RAW_SUBJECT);
    const echo = createServer((req, res) => {
      req.on("data", () => undefined);
      req.on("end", () => res.end(reply));
    });
    const echoUrl = await listen(echo);
    const agentBridge = bridgeTo(subjects.tools.of(risk.name));
    const bridgeUrl = await listen(bridge);
    const agentBridgeUrl = await listen(agentBridge);
    const agentUrl = new URL(`${agent.url}/tools/calculate_kelly`);
    const coordUrl = new URL(`${coordinator.url}/rpc`);
    const argsBody = JSON.stringify(args);
    const seedBody = `{"id":"1","method":"tool.execute","params":{"agent":"riskquant","tool":"calculate_kelly","args":${argsBody}}}`;
    const client = (url: URL, body: string) => rawClient(Number(url.port), postBytes(url, body));
    const [httpClient, coordClient, bridgeClient, echoClient, agentBridgeClient] = await Promise.all([
      client(agentUrl, argsBody),
      client(coordUrl, seedBody),
      client(bridgeUrl, rawPayload),
      client(echoUrl, rawPayload),
      client(agentBridgeUrl, rawPayload),
    ]);
    const httpClients = [httpClient, coordClient, bridgeClient, echoClient, agentBridgeClient];

    const ops = {
      raw: () => clientBus.request(RAW_SUBJECT, rawPayload, 5_000),
      rawThenEcho: async () => {
        await clientBus.request(RAW_SUBJECT, rawPayload, 5_000);
        await echoClient.call();
      },
      rawAgent: () => clientBus.request(subjects.tools.of(risk.name), rawPayload, 5_000),
      nats: () => callTool(clientBus, "risk", "calculate_kelly", args),
      http: httpClient.call,
      coord: coordClient.call,
      bridge: bridgeClient.call,
      httpEcho: echoClient.call,
      agentBridge: agentBridgeClient.call,
    } as const;
    const recorders = {
      raw: new Recorder(),
      rawAgent: new Recorder(),
      rawThenEcho: new Recorder(),
      nats: new Recorder(),
      http: new Recorder(),
      coord: new Recorder(),
      bridge: new Recorder(),
      httpEcho: new Recorder(),
      agentBridge: new Recorder(),
    };
    const perRound = Math.max(200, Math.round(2_000 * ctx.scale));
    const rounds = 5;
    try {
      for (const op of Object.values(ops)) for (let i = 0; i < 500; i++) await op();
      const started = process.hrtime.bigint();
      for (let r = 0; r < rounds; r++) {
        for (const [name, op] of Object.entries(ops) as [keyof typeof ops, () => Promise<unknown>][]) {
          const rec = recorders[name];
          for (let i = 0; i < perRound; i++) await rec.time(op);
        }
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      ctx.log(`${rounds} interleaved rounds × ${perRound} calls per kind in ${seconds.toFixed(1)} s`);
    } finally {
      for (const c of httpClients) c.close();
      bridge.close();
      echo.close();
      agentBridge.close();
      await coordinator.stop();
      await agent.stop();
      await Promise.all([agentBus, coordBus, clientBus, rawBus].map((b) => b.drain()));
    }

    const raw = recorders.raw.stats();
    const coordP50 = recorders.coord.stats().p50_us;
    const bridgeP50 = recorders.bridge.stats().p50_us;
    const agentBridgeP50 = recorders.agentBridge.stats().p50_us;
    const rawAgentP50 = recorders.rawAgent.stats().p50_us;
    const echoP50 = recorders.httpEcho.stats().p50_us;
    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    const row = (
      name: string,
      unit: string,
      rec: Recorder,
      extra: Record<string, number | string> = {},
    ): BenchResult => {
      const s = rec.stats();
      return {
        case: `tool-calls/${name}`,
        unit,
        latency: s,
        throughput: Math.round(1e6 / s.mean_us),
        notes: {
          raw_p50_us: raw.p50_us,
          raw_p99_us: raw.p99_us,
          p50_vs_raw: ratio(s.p50_us, raw.p50_us),
          p99_vs_raw: ratio(s.p99_us, raw.p99_us),
          ...extra,
        },
      };
    };
    return [
      {
        case: "tool-calls/raw-nats-round-trip",
        unit: "request/reply round trip (floor)",
        latency: raw,
        throughput: Math.round(1e6 / raw.mean_us),
      },
      row(
        "raw-nats-to-agent",
        "the raw request sent to the kit-served agent: the floor with the agent's work",
        recorders.rawAgent,
      ),
      row("nats-tool-call", "callTool over NATS to a kit-served agent", recorders.nats, {
        target: "p50 ≤ 1.3× raw, < 300 µs (seed)",
      }),
      row("http-agent", "POST /tools/:tool on the agent (keep-alive)", recorders.http),
      row("coordinator-http-rpc", "POST /rpc on the coordinator → NATS → agent", recorders.coord, {
        bridge_p50_us: bridgeP50,
        p50_vs_bridge: ratio(coordP50, bridgeP50),
        agent_bridge_p50_us: agentBridgeP50,
        p50_vs_agent_bridge: ratio(coordP50, agentBridgeP50),
        raw_agent_p50_us: rawAgentP50,
        p50_vs_raw_agent: ratio(coordP50, rawAgentP50),
        target: "p50 ≤ 1.15× bridge and ≤ 1.6× raw (#20)",
      }),
      row(
        "bare-http-to-nats-bridge",
        "floor of the coordinator path: node:http → raw NATS request",
        recorders.bridge,
        {
          http_echo_p50_us: echoP50,
          bridge_minus_http_echo_us: Math.round((bridgeP50 - echoP50) * 10) / 10,
          raw_then_echo_p50_us: recorders.rawThenEcho.stats().p50_us,
        },
      ),
      row(
        "bare-http-echo",
        "node:http answering a fixed reply, no NATS: the HTTP stack's floor",
        recorders.httpEcho,
      ),
      row(
        "bare-http-to-agent-bridge",
        "node:http → the agent's bytes over NATS, forwarded as they are",
        recorders.agentBridge,
        { p50_vs_bridge: ratio(agentBridgeP50, bridgeP50) },
      ),
    ];
  },
};

export default toolCalls;
