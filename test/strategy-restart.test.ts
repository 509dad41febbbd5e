import { freePortOffset } from "./ports.ts";
import { type ChildProcess, spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { ensureTopology } from "../adapters/nats/topology.ts";
import { callTool } from "../adapters/nats/tool-transport.ts";
import { loadConfig } from "../core/config.ts";
import type { Candle } from "../core/domain/market.ts";
import { Fill, Order } from "../core/domain/trading.ts";
import { EventEnvelope } from "../core/protocol/envelope.ts";
import { subjects } from "../core/subjects.ts";
import { quietLogger } from "../core/telemetry/log.ts";
import { systemStatus } from "../hotpath/coordinator/status.ts";
import type { ExchangeRuntime } from "../hotpath/exchange/runtime.ts";
import { startExchange } from "../hotpath/exchange/service.ts";
import { eventually, privateNats, testBus } from "./nats.ts";

/**
 * Restart with a real kill -9: the strategy agent runs as its own process (the container entry,
 * AGENT=strategy) against a private nats-server and the exchange service (paper venue, feed ticked
 * by hand). Killed mid-run, restarted, it resumes its strategy with the position its fills on the bus
 * add up to, keeps trading without a second order for any decision, and after a stop (no flatten), a
 * kill and a restart shows the position it left as unprotected, in get_strategy and in /status.
 */
const SYMBOL = "BTC/USDT";
const ENV = { PAPER_SYMBOLS: SYMBOL, PAPER_BALANCES: "USDT:100000", PAPER_SEED: "restart" };

interface Got {
  status: string;
  orders: number;
  unprotected: boolean;
  positions: { symbol: string; amount: number; protected: boolean }[];
  kernels: { position: number; last_bar_ts: number }[];
}

describe("strategy agent restart after kill -9", async () => {
  const nats = await privateNats();
  const bus = await testBus(nats.url);
  await ensureTopology(bus);
  const config = loadConfig(ENV);
  const fills: Fill[] = [];
  const submitted: Order[] = [];
  const decoder = new TextDecoder();
  const data = (b: Uint8Array) => EventEnvelope.parse(JSON.parse(decoder.decode(b))).data;
  bus.nc.subscribe(subjects.trade.fill, {
    callback: (_e, m) => {
      fills.push(Fill.parse(data(m.data)));
    },
  });
  bus.nc.subscribe(subjects.trade.order("submitted"), {
    callback: (_e, m) => {
      submitted.push(Order.parse(data(m.data)));
    },
  });
  let runtime: ExchangeRuntime | undefined;
  const exchange = await startExchange(
    { config, bus, logger: quietLogger("exchange") },
    { port: 0 },
    { feedTimer: false, onRuntime: (rt) => (runtime = rt) },
  );
  const offset = await freePortOffset();
  let child: ChildProcess | undefined;
  let output = "";
  const spawnAgent = async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...ENV,
      AGENT: "strategy",
      NATS_URL: nats.url,
      BOT4_PORT_OFFSET: String(offset),
      STRATEGY_DEFAULT: "off",
      LOG_LEVEL: "info",
    };
    child = spawn(process.execPath, ["--import", "tsx", "infra/docker/entry.ts"], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    await eventually(
      () => callTool(bus, "strategy", "list_strategies", {}, { timeout: 1_000 }),
      60_000,
      "the strategy agent to serve",
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n--- agent output ---\n${output.slice(-3000)}`);
    });
  };
  const kill9 = async () => {
    const exited = new Promise((resolve) => child?.once("exit", resolve));
    child?.kill("SIGKILL");
    await exited;
  };
  afterAll(async () => {
    child?.kill("SIGKILL");
    await exchange.stop();
  });

  const get = async () => (await callTool(bus, "strategy", "get_strategy", { id: "r-ma" })) as Got;
  const tick = async (decided = true): Promise<Candle> => {
    const [c] = runtime?.feed.tick() ?? [];
    if (decided)
      await eventually(async () => (await get()).kernels[0]?.last_bar_ts === c?.ts, 10_000, "the decision");
    return c as Candle;
  };
  const ownPosition = () =>
    fills
      .filter((f) => f.strategyId === "r-ma")
      .reduce((a, f) => a + (f.side === "buy" ? 1 : -1) * f.amount, 0);

  it("resumes with its position, keeps trading, and shows a stopped strategy's position as unprotected", async () => {
    await spawnAgent();
    await callTool(bus, "strategy", "create_strategy", {
      id: "r-ma",
      kind: "ma_crossover",
      params: { fast: 2, slow: 5 },
      symbols: [SYMBOL],
      capital: 1_500,
      protections: { stop_loss: 0.01 },
    });
    // Trade until it holds a position after a few orders.
    await eventually(
      async () => {
        await tick();
        const g = await get();
        return g.orders >= 3 && Math.abs(g.kernels[0]?.position ?? 0) > 0;
      },
      60_000,
      "orders and a position",
    );
    const before = await get();
    await kill9();
    for (let i = 0; i < 3; i++) await tick(false); // bars while it is down: not traded on after the restart

    await spawnAgent();
    const after = await get();
    expect(after.status).toBe("running");
    expect(after.kernels[0]?.position).toBeCloseTo(ownPosition(), 9);
    expect(after.kernels[0]?.position).toBeCloseTo(before.kernels[0]?.position ?? Number.NaN, 9);
    expect(after.orders).toBeGreaterThanOrEqual(before.orders);

    // It keeps trading; every decision reached the exchange once (no second order for any client order id).
    for (let i = 0; i < 40; i++) await tick();
    const later = await get();
    expect(later.orders).toBeGreaterThan(after.orders);
    const ids = submitted.filter((o) => o.strategyId === "r-ma").map((o) => o.clientOrderId);
    expect(new Set(ids).size).toBe(ids.length);
    await eventually(
      () => Math.abs(ownPosition() - ((later.kernels[0]?.position as number) ?? 0)) < 1e-9,
      5_000,
      "fills",
    );

    // Stopped with a position (no flatten), killed, restarted: the position is shown unprotected.
    await eventually(
      async () => {
        await tick();
        return Math.abs((await get()).kernels[0]?.position ?? 0) > 0;
      },
      60_000,
      "a position to leave behind",
    );
    await callTool(bus, "strategy", "stop_strategy", { id: "r-ma" });
    await kill9();
    await spawnAgent();
    const left = await get();
    expect(left.status).toBe("stopped");
    expect(left.unprotected).toBe(true);
    expect(left.positions[0]).toMatchObject({ symbol: SYMBOL, protected: false });
    expect(left.positions[0]?.amount).toBeCloseTo(ownPosition(), 9);
    const status = await systemStatus(bus);
    expect(status.strategies?.unprotected.map((s) => s.id)).toEqual(["r-ma"]);
    expect(output).toMatch(/strategy restored: its position is UNPROTECTED/);
  }, 240_000);
});
