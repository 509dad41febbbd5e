import { loadavg } from "node:os";
import { Hono, type MiddlewareHandler } from "hono";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { closeCpuPool, runPooled } from "../../core/compute/pool.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { createToolRegistry } from "../../core/tools/registry.ts";
import { browserGuard } from "../../hotpath/kit/guard.ts";
import { apiKeyAuth, limitBody, rateLimit } from "../../hotpath/kit/protect.ts";
import { kellyTool } from "../../hotpath/kit/testing/agent.ts";
import { HEAVY_MODULE } from "../../hotpath/risk/tools/heavy.ts";
import { simulationTools } from "../../hotpath/risk/tools/simulation.ts";
import { riskTools } from "../../hotpath/risk/tools.ts";
import { type BenchCase, type BenchResult, measureInterleaved, measureSequential } from "../harness.ts";
import { rawClient, serveOnLoopback } from "../raw-http.ts";

const ctx = { requestId: "b", correlationId: "b", transport: "local" as const, logger: quietLogger() };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** Interleaves rounds of each op so machine drift hits all alike; answers p50 per op over all rounds. */
async function interleaved(ops: Record<string, () => Promise<unknown>>, rounds: number, perRound: number) {
  const samples: Record<string, number[]> = {};
  for (const name of Object.keys(ops)) samples[name] = [];
  for (let r = 0; r < rounds; r++)
    for (const [name, op] of Object.entries(ops)) {
      const { latency } = await measureSequential(op, perRound, Math.min(50, perRound));
      samples[name]?.push(latency.p50_us);
    }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

/**
 * Security costs (issue 17):
 *   the Host/Origin/Content-Type guard + API-key check added to a tool call (the same Hono app with and
 *   without them, over HTTP through @hono/node-server, before/after in one run; see measureChecks);
 *   monte_carlo 10,000 paths × 20 steps (2 assets) in the CPU pool vs in thread;
 *   the pool hop itself (a trivial pooled call) beside calculate_kelly in thread (cheap tools stay there).
 */
/** A Hono app with `middleware` in front of the bench's tool route. */
function toolApp(middleware: readonly MiddlewareHandler[]): Hono {
  const registry = createToolRegistry("risk", [kellyTool()]);
  const app = new Hono();
  for (const m of middleware) app.use(m);
  return app.post("/tools/:tool", async (c) =>
    c.json(await registry.call(c.req.param("tool"), JSON.parse(await c.req.text()), ctx)),
  );
}

/**
 * The guard and key checks' cost, over real HTTP through @hono/node-server (the kit's adapter, whose
 * lazy request headers are what the checks read): the same route and body on three apps, called one
 * after the other (bare, base, checked, bare, …) on keep-alive sockets so a loaded machine slows them
 * alike; p50 of each over 8,000 calls, median of 5 runs.
 *   bare: the route alone (Hono's one-handler fast path, no middleware chain at all);
 *   base: the kit's always-on middleware in front (request id, secure headers), as every kit route has;
 *   checked: base + the Host/Origin/Content-Type guard + API-key auth (with the failed-auth limit);
 *   limited: checked + the per-client rate limit and the body limit, the kit's whole set.
 * The checks' cost is checked − base (what they add to a kit tool call); checked − bare also charges
 * them the middleware chain the kit runs anyway; limited − base is everything the kit's protection adds.
 */
async function measureChecks(bench: Parameters<BenchCase["run"]>[0]): Promise<BenchResult> {
  const base = [requestId({ limitLength: 128 }), secureHeaders()];
  const checks = [
    browserGuard({ allowedHosts: [], allowedOrigins: [], corsOrigins: [] }, "127.0.0.1"),
    apiKeyAuth(["bench-key-1", "bench-key-2"], { perMinute: 10 }),
  ];
  const limits = [
    rateLimit({ perSecond: 1e9, burst: 1e9 }),
    limitBody(1_048_576, (c) => c.json({ error: "too large" }, 413)),
  ];
  const servers = await Promise.all(
    [[], base, [...base, ...checks], [...base, ...checks, ...limits]].map((m) => serveOnLoopback(toolApp(m))),
  );
  const body = JSON.stringify({ win_probability: 0.6, win_return: 1, loss_return: -1 });
  const request = (port: number) =>
    [
      "POST /tools/calculate_kelly HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
      `Origin: http://127.0.0.1:${port}`,
      "Content-Type: application/json",
      "Authorization: Bearer bench-key-2",
      `Content-Length: ${Buffer.byteLength(body)}`,
      "",
      body,
    ].join("\r\n");
  const clients = await Promise.all(servers.map((s) => rawClient(s.port, request(s.port))));
  const runs: Awaited<ReturnType<typeof measureInterleaved>>[] = [];
  try {
    for (let r = 0; r < 5; r++)
      runs.push(
        await measureInterleaved(
          clients.map((c) => c.call),
          8_000,
          500,
        ),
      );
  } finally {
    for (const c of clients) c.close();
    await Promise.all(servers.map((s) => s.close()));
  }
  const p50 = (k: number) => median(runs.map((run) => run[k]?.latency.p50_us ?? 0));
  const [bare, kit, checked, limited] = [p50(0), p50(1), p50(2), p50(3)];
  const added = checked - kit;
  bench.log(
    `checks over HTTP: bare ${bare} µs, base ${kit} µs, checked ${checked} µs p50 → +${added.toFixed(2)} µs (+${(checked - bare).toFixed(2)} µs over bare; with rate and body limits ${limited} µs, +${(limited - kit).toFixed(2)} µs) [${loadavg()[0]?.toFixed(2)} load]`,
  );
  return {
    case: "security: Host/Origin/Content-Type + API key checks",
    unit: "µs p50 added per tool call",
    notes: {
      bare_p50_us: bare,
      base_p50_us: kit,
      checked_p50_us: checked,
      added_p50_us: Math.round(added * 100) / 100,
      added_over_bare_p50_us: Math.round((checked - bare) * 100) / 100,
      added_share_of_call: Math.round((added / kit) * 1000) / 1000,
      with_limits_p50_us: limited,
      added_with_limits_p50_us: Math.round((limited - kit) * 100) / 100,
      target_us: 5,
    },
  };
}

const securityCase: BenchCase = {
  name: "security",
  order: 90,
  async run(bench): Promise<BenchResult[]> {
    const results: BenchResult[] = [];
    results.push(await measureChecks(bench));

    const inThread = simulationTools().find((t) => t.name === "monte_carlo");
    const inPool = riskTools({ KELLY_FRACTION: 0.25 }, {} as never).find((t) => t.name === "monte_carlo");
    if (inThread === undefined || inPool === undefined) throw new Error("no monte_carlo");
    const args = inThread.input.parse({
      mean: [0.0004, 0.0002],
      covariance: [
        [0.0001, 0.00002],
        [0.00002, 0.0002],
      ],
      paths: 10_000,
      steps: 20,
      seed: 3,
    });
    const mc = await interleaved(
      {
        thread: async () => inThread.handler(args, ctx),
        pool: async () => inPool.handler(args, ctx),
      },
      7,
      10,
    );
    results.push({
      case: "security: monte_carlo 10,000 × 20 (2 assets), pool vs thread",
      unit: "p50 µs",
      notes: {
        in_thread_p50_us: mc.thread ?? 0,
        pool_p50_us: mc.pool ?? 0,
        ratio: (mc.pool ?? 0) / (mc.thread ?? 1),
        target_ratio: 1.2,
      },
    });
    bench.log(`monte_carlo: thread ${mc.thread} µs, pool ${mc.pool} µs p50`);

    // calculate_kelly's own maths (the test agent's), in thread as the risk registry runs it.
    const kelly = kellyTool();
    const kellyArgs = kelly.input.parse({ win_probability: 0.6, win_return: 1, loss_return: -1 });
    const tiny = inThread.input.parse({ mean: [0], covariance: [[0.0001]], paths: 1, steps: 1, seed: 1 });
    const hop = await interleaved(
      {
        kelly: async () => kelly.handler(kellyArgs, ctx),
        hop: async () => runPooled(HEAVY_MODULE, "runRiskTool", { tool: "monte_carlo", args: tiny }, "hop"),
      },
      5,
      300,
    );
    results.push({
      case: "security: calculate_kelly in thread vs a trivial pool hop",
      unit: "p50 µs",
      notes: { kelly_in_thread_p50_us: hop.kelly ?? 0, pool_hop_p50_us: hop.hop ?? 0 },
    });
    await closeCpuPool();
    return results;
  },
};

export default securityCase;
