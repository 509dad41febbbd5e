import { afterAll, describe, expect, it } from "vitest";
import { ensureTopology } from "../adapters/nats/topology.ts";
import { cpuPool } from "../core/compute/pool.ts";
import { loadConfig } from "../core/config.ts";
import { RpcCode } from "../core/protocol/jsonrpc.ts";
import { quietLogger } from "../core/telemetry/log.ts";
import { ToolError } from "../core/tools/errors.ts";
import { startExchange } from "../hotpath/exchange/service.ts";
import { startRisk } from "../hotpath/risk/service.ts";
import { riskTools } from "../hotpath/risk/tools.ts";
import { privateNats, testBus } from "./nats.ts";

/**
 * CPU isolation (issue 17 point 5): every agent of `npm start` shares one event loop, so a CPU-heavy
 * tool runs in the CPU pool. While the heaviest monte_carlo the caps allow runs, the exchange in the
 * same process still answers /health and submit_order within the functional bound of 50 ms.
 */
const nats = await privateNats();
const bus = await testBus(nats.url, "cpu-isolation");
await ensureTopology(bus);
const config = loadConfig({ PAPER_BALANCES: "USDT:1000000" });
const exchange = await startExchange({ config, bus, logger: quietLogger() }, { port: 0 });
const risk = await startRisk({ config, bus, logger: quietLogger() }, { port: 0 });
afterAll(async () => {
  await exchange.stop();
  await risk.stop();
});

const post = (base: string, tool: string, body: unknown) =>
  fetch(`${base}/tools/${tool}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
const order = { symbol: "BTC/USDT", side: "buy", type: "market", amount: 0.001 };
const ctx = { requestId: "r", correlationId: "c", transport: "local" as const, logger: quietLogger() };

describe("CPU-heavy tools in the pool", () => {
  it("keeps the exchange's /health and submit_order within 50 ms while the heaviest monte_carlo runs", async () => {
    // Warm both paths (first-call JIT and the paper market's first price) before measuring.
    expect((await post(exchange.url, "submit_order", order)).status).toBe(200);
    expect((await fetch(`${exchange.url}/health`)).status).toBe(200);
    const idle: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      await fetch(`${exchange.url}/health`);
      idle.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 50));
    }
    // paths × steps × assets = 1,000,000 × 99 × 1, just under the 100,000,000 cap.
    let done = false;
    const heavy = post(risk.url, "monte_carlo", {
      mean: [0.0002],
      covariance: [[0.0001]],
      paths: 1_000_000,
      steps: 99,
      seed: 7,
    }).finally(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 300));
    const health: number[] = [];
    const orders: number[] = [];
    for (let i = 0; i < 15; i++) {
      let t = performance.now();
      expect((await fetch(`${exchange.url}/health`)).status).toBe(200);
      health.push(performance.now() - t);
      t = performance.now();
      expect((await post(exchange.url, "submit_order", order)).status).toBe(200);
      orders.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 50));
    }
    // The measurements were taken while the heavy call was still running.
    expect(done).toBe(false);
    // The median answers within the bound, counted above what the machine itself costs right now: on
    // the shared 2-core build machine (load ≈ 20, or a whole test suite beside) even an idle /health,
    // with nothing running here, takes tens of ms now and then (`idle`, measured just before). Before
    // the pool, this one request blocked /health for 5.1 s.
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const seen = `health ms ${health.map((x) => x.toFixed(1))}; submit_order ms ${orders.map((x) => x.toFixed(1))}; idle health ms ${idle.map((x) => x.toFixed(1))}`;
    const floor = median(idle);
    expect(median(health) - floor, seen).toBeLessThanOrEqual(50);
    expect(median(orders) - floor, seen).toBeLessThanOrEqual(50);
    // Nothing waited for the heavy call: the slowest answer is far below its run time.
    expect(Math.max(...health, ...orders), seen).toBeLessThan(1_000);
    const res = await heavy;
    expect(res.status).toBe(200);
    const body = (await res.json()) as { paths: number; steps: number };
    expect(body).toMatchObject({ paths: 1_000_000, steps: 99 });
  }, 180_000);

  it("cuts a pooled call at its deadline with a Timeout naming the tool, and the pool keeps serving", async () => {
    const tools = riskTools({ KELLY_FRACTION: 0.25, BOT4_CPU_DEADLINE_MS: 200 }, {} as never);
    const mc = tools.find((t) => t.name === "monte_carlo");
    if (mc === undefined) throw new Error("no monte_carlo");
    const big = mc.input.parse({ mean: [0], covariance: [[0.0001]], paths: 1_000_000, steps: 99 });
    const err = await Promise.resolve(mc.handler(big, ctx)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect(err).toMatchObject({
      code: RpcCode.Timeout,
      message: expect.stringMatching(/monte_carlo did not finish within 200 ms/),
    });
    const small = mc.input.parse({ mean: [0], covariance: [[0.0001]], paths: 1_000, steps: 5, seed: 1 });
    const fast = riskTools({ KELLY_FRACTION: 0.25 }, {} as never).find((t) => t.name === "monte_carlo");
    await expect(Promise.resolve(fast?.handler(small, ctx))).resolves.toMatchObject({
      paths: 1_000,
      steps: 5,
    });
  }, 60_000);

  it("leaves cheap tools (calculate_kelly, parametric VaR) on the main thread", async () => {
    const pool = cpuPool();
    const before = pool.completed;
    const kelly = await post(risk.url, "calculate_kelly", {
      win_probability: 0.6,
      win_return: 1,
      loss_return: -1,
    });
    expect(kelly.status).toBe(200);
    const parametric = await post(risk.url, "calculate_var", {
      volatility: 0.02,
      method: "parametric_normal",
    });
    expect(parametric.status).toBe(200);
    expect(pool.completed).toBe(before);
    const simulated = await post(risk.url, "calculate_var", {
      returns: [0.01, -0.02, 0.005, 0.001],
      method: "monte_carlo",
      paths: 1_000,
    });
    expect(simulated.status).toBe(200);
    expect(pool.completed).toBe(before + 1);
  });
});
