import { Hono } from "hono";
import { closeCpuPool, runPooled } from "../../core/compute/pool.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { createToolRegistry } from "../../core/tools/registry.ts";
import { browserGuard } from "../../hotpath/kit/guard.ts";
import { apiKeyAuth } from "../../hotpath/kit/protect.ts";
import { kellyTool } from "../../hotpath/kit/testing/agent.ts";
import { HEAVY_MODULE } from "../../hotpath/risk/tools/heavy.ts";
import { simulationTools } from "../../hotpath/risk/tools/simulation.ts";
import { riskTools } from "../../hotpath/risk/tools.ts";
import { type BenchCase, type BenchResult, measureInterleaved, measureSequential } from "../harness.ts";

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
 *   without them, in process, before/after in one run);
 *   monte_carlo 10,000 paths × 20 steps (2 assets) in the CPU pool vs in thread;
 *   the pool hop itself (a trivial pooled call) beside calculate_kelly in thread (cheap tools stay there).
 */
/** The guard and key checks' cost: the same Hono app with and without them, call by call. */
async function measureChecks(bench: Parameters<BenchCase["run"]>[0]): Promise<BenchResult> {
  const registry = createToolRegistry("risk", [kellyTool()]);
  const route = (app: Hono) =>
    app.post("/tools/:tool", async (c) =>
      c.json(await registry.call(c.req.param("tool"), JSON.parse(await c.req.text()), ctx)),
    );
  const bare = route(new Hono());
  const guarded = new Hono();
  guarded.use(browserGuard({ allowedHosts: [], allowedOrigins: [], corsOrigins: [] }, "127.0.0.1"));
  guarded.use(apiKeyAuth(["bench-key-1", "bench-key-2"], { perMinute: 10 }));
  route(guarded);
  const body = JSON.stringify({ win_probability: 0.6, win_return: 1, loss_return: -1 });
  const headers = {
    host: "127.0.0.1:3000",
    origin: "http://127.0.0.1:3000",
    "content-type": "application/json",
    authorization: "Bearer bench-key-2",
  };
  // What @hono/node-server hands the app: the socket the client address is read from.
  const env = {
    incoming: { socket: { remoteAddress: "127.0.0.1", remotePort: 50_000, remoteFamily: "IPv4" } },
  };
  const call = (app: Hono) => async () => {
    const res = await app.request("/tools/calculate_kelly", { method: "POST", headers, body }, env);
    if (res.status !== 200) throw new Error(`status ${res.status}`);
    await res.arrayBuffer();
  };
  // Call by call (bare, guarded, bare, …) so a loaded machine slows both alike; median of 5 runs.
  const pairs: Awaited<ReturnType<typeof measureInterleaved>>[] = [];
  for (let r = 0; r < 5; r++) pairs.push(await measureInterleaved([call(bare), call(guarded)], 8_000, 500));
  const p50 = (k: number) => median(pairs.map((run) => run[k]?.latency.p50_us ?? 0));
  const checks = { bare: p50(0), guarded: p50(1) };
  const added = (checks.guarded ?? 0) - (checks.bare ?? 0);
  bench.log(`checks: bare ${checks.bare} µs, guarded ${checks.guarded} µs p50 → +${added.toFixed(2)} µs`);
  return {
    case: "security: Host/Origin/Content-Type + API key checks",
    unit: "µs p50 added per tool call",
    notes: {
      bare_p50_us: checks.bare ?? 0,
      guarded_p50_us: checks.guarded ?? 0,
      added_p50_us: added,
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
