import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { loadConfig } from "../../core/config.ts";
import type { Candle, OrderBook } from "../../core/domain/market.ts";
import type { Order } from "../../core/domain/trading.ts";
import type { FillWire, OrderWire } from "../../core/domain/wire.ts";
import { fillAgainstBook } from "../../core/execution/fill-model.ts";
import { emptySnapshot } from "../../core/risk/snapshot.ts";
import { kvBuckets, positionKeys, riskKeys, subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { eventually, privateNats, testBus } from "../../test/nats.ts";
import type { RunningService } from "../kit/types.ts";
import type { ExchangeRuntime } from "./runtime.ts";
import { startExchange } from "./service.ts";
import { storedEvents, toolPoster } from "./testing.ts";

const nats = await privateNats();
const bus = await testBus(nats.url, "exchange-paper");
await ensureTopology(bus);

// Fees 0.1 % (the paper default); slippage 5 bps on taker fills.
const SLIP = 5 / 10_000;
const config = loadConfig({
  PAPER_SLIPPAGE_BPS: "5",
  PAPER_BALANCES: "USDT:100000",
  PAPER_SEED: "paper-test",
});

let svc: RunningService;
let rt: ExchangeRuntime;

const post = toolPoster(() => svc.url);
const close = (actual: number, expected: number, rel = 1e-9) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.abs(expected));

beforeAll(async () => {
  svc = await startExchange(
    { config, bus, logger: quietLogger() },
    { port: 0, instanceId: "exchange-paper" },
    {
      feedTimer: false,
      onRuntime: (r) => {
        rt = r;
      },
    },
  );
});
afterAll(async () => {
  await svc.stop();
});

/** A bar after the current one, with the given range, for the candle model. */
const bar = (o: { open: number; high: number; low: number; close: number }): Candle => ({
  venue: "paper",
  symbol: "BTC/USDT",
  timeframe: "1m",
  ts: 1_900_000_000_000,
  volume: 1_000,
  ...o,
});

describe("exchange service on the paper venue", () => {
  it("answers the seed's get_exchange_status for an unconfigured binance", async () => {
    const { status, body } = await post("get_exchange_status", { exchange: "binance" });
    expect(status).toBe(200);
    expect(body.configured).toBe(false);
    expect(body.connection).toBe("not_configured");
    expect(String(body.message)).toMatch(/not configured.*paper/);
    const paper = await post("get_exchange_status", { exchange: "paper" });
    expect(paper.body).toMatchObject({ configured: true, mode: "paper", connection: "up", trading: true });
  });

  it("fills a market buy against the book as the fill model says, with fees, and publishes each event once", async () => {
    const book = (await post("get_order_book", { symbol: "BTC/USDT", depth: 50 }))
      .body as unknown as OrderBook;
    const expected = fillAgainstBook(
      { symbol: "BTC/USDT", side: "buy", type: "market", amount: 0.01 },
      book,
      {
        fees: { maker: 0.001, taker: 0.001 },
        slippageBps: 5,
      },
    );
    const { status, body } = await post("submit_order", {
      symbol: "BTC/USDT",
      side: "buy",
      type: "market",
      amount: 0.01,
      client_order_id: "mkt-1",
    });
    expect(status).toBe(200);
    const order = body.order as OrderWire;
    const fills = body.fills as FillWire[];
    expect(order.status).toBe("filled");
    expect(fills.map((f) => [f.price, f.amount, f.liquidity])).toEqual(
      expected.fills.map((f) => [f.price, f.amount, f.liquidity]),
    );
    const best = book.asks[0]?.[0] ?? 0;
    close(fills[0]?.price ?? 0, best * (1 + SLIP));
    close(fills[0]?.fee.cost ?? 0, (fills[0]?.price ?? 0) * 0.01 * 0.001);
    expect(body.pretrade).toMatchObject({ approved: true, source: "local" });

    // The same client order id again: the first answer, nothing new on the bus.
    const again = await post("submit_order", {
      symbol: "BTC/USDT",
      side: "buy",
      type: "market",
      amount: 0.01,
      client_order_id: "mkt-1",
    });
    expect((again.body.order as OrderWire).id).toBe(order.id);

    const events = await eventually(async () => {
      const all = (await storedEvents(bus)).filter((e) => e.source === "exchange");
      return all.some((e) => e.type === "order.filled") ? all : undefined;
    });
    expect(events.map((e) => e.type)).toEqual([
      "order.submitted",
      "order.accepted",
      "fill.executed",
      "position.changed",
      "order.filled",
    ]);
    const position = events[3]?.data as { amount: number; averagePrice: number };
    close(position.amount, 0.01);
    close(position.averagePrice, fills[0]?.price ?? 0);
    const kv = await bus.kv(kvBuckets.positions);
    const stored = await eventually(async () =>
      (await kv.get(positionKeys.of("default", "paper", "BTC/USDT")))?.json<{ amount: number }>(),
    );
    close(stored.amount, 0.01);
  });

  it("rests a limit buy and fills it at its price, as maker, when a bar's low reaches it", async () => {
    const price = Math.round((rt.paper.price("BTC/USDT") ?? 50_000) * 0.98 * 100) / 100;
    const { body } = await post("submit_order", {
      symbol: "BTC/USDT",
      side: "buy",
      type: "limit",
      amount: 0.01,
      price,
      client_order_id: "lmt-1",
    });
    const order = body.order as OrderWire;
    expect(order.status).toBe("accepted");
    rt.paper.onCandle(
      bar({ open: price * 1.01, high: price * 1.02, low: price * 1.001, close: price * 1.01 }),
    );
    expect((await post("get_order", { client_order_id: "lmt-1" })).body.order).toMatchObject({
      status: "accepted",
    });
    rt.paper.onCandle(
      bar({ open: price * 1.01, high: price * 1.02, low: price * 0.999, close: price * 1.0 }),
    );
    const after = (await post("get_order", { client_order_id: "lmt-1" })).body;
    expect(after.order).toMatchObject({ status: "filled", average_price: price });
    const fill = (after.fills as FillWire[])[0];
    expect(fill?.liquidity).toBe("maker");
    close(fill?.fee.cost ?? 0, price * 0.01 * 0.001);
  });

  it("triggers a sell stop when a bar trades through it and fills at the stop less slippage", async () => {
    const mark = rt.paper.price("BTC/USDT") ?? 50_000;
    const stop = Math.round(mark * 0.95 * 100) / 100;
    const { body } = await post("submit_order", {
      symbol: "BTC/USDT",
      side: "sell",
      type: "stop",
      amount: 0.01,
      stop_price: stop,
      client_order_id: "stp-1",
    });
    expect((body.order as OrderWire).status).toBe("accepted");
    rt.paper.onCandle(bar({ open: stop * 1.02, high: stop * 1.03, low: stop * 0.99, close: stop }));
    const after = (await post("get_order", { client_order_id: "stp-1" })).body;
    expect(after.order).toMatchObject({ status: "filled" });
    const fill = (after.fills as FillWire[])[0];
    close(fill?.price ?? 0, stop * (1 - SLIP));
    expect(fill?.liquidity).toBe("taker");
    const positions = (await post("get_positions", { symbol: "BTC/USDT" })).body.positions as {
      amount: number;
      average_price: number;
      realized_pnl: number;
      unrealized_pnl?: number;
    }[];
    close(positions[0]?.amount ?? 0, 0.01);
    // Issue 14.6: the position shows its unrealised PnL at the venue's last price next to the realised.
    const last = rt.oms.price("paper", "BTC/USDT");
    expect(last).toBeDefined();
    const p0 = positions[0];
    expect(p0?.unrealized_pnl).toBeDefined();
    close(p0?.unrealized_pnl ?? Number.NaN, (p0?.amount ?? 0) * ((last ?? 0) - (p0?.average_price ?? 0)));
    expect(Number.isFinite(p0?.realized_pnl)).toBe(true);
  });

  it("rejects an order over the position limit with the reasons, and publishes the rejection", async () => {
    const { status, body } = await post("submit_order", {
      symbol: "BTC/USDT",
      side: "buy",
      type: "market",
      amount: 1,
      client_order_id: "big-1",
    });
    expect(status).toBe(422);
    const error = body.error as { message: string; data: { reasons: { check: string; limit: number }[] } };
    expect(error.message).toMatch(/pre-trade check failed/);
    expect(error.data.reasons.map((r) => r.check)).toContain("maxPositionSize");
    expect(error.data.reasons.find((r) => r.check === "maxPositionSize")?.limit).toBe(0.02);
    await eventually(async () =>
      (await storedEvents(bus)).some(
        (e) => e.type === "order.rejected" && (e.data as Order).clientOrderId === "big-1",
      ),
    );
  });

  it("uses the risk service's snapshot from KV when there is one (kill switch)", async () => {
    const kv = await bus.kv(kvBuckets.risk);
    const snapshot = emptySnapshot(100_000, { ...emptySnapshot(1).limits, killSwitch: true });
    await kv.put(riskKeys.snapshot("default"), JSON.stringify(snapshot));
    const { status, body } = await eventually(async () => {
      const r = await post("submit_order", {
        symbol: "BTC/USDT",
        side: "buy",
        amount: 0.001,
        client_order_id: `ks-${Date.now()}`,
      });
      return r.status === 422 ? r : undefined;
    });
    expect(status).toBe(422);
    expect((body.error as { data: { source: string; reasons: { check: string }[] } }).data).toMatchObject({
      source: "kv",
      reasons: [{ check: "killSwitch" }],
    });
    await kv.delete(riskKeys.snapshot("default"));
    const ok = await eventually(async () => {
      const r = await post("submit_order", {
        symbol: "BTC/USDT",
        side: "buy",
        amount: 0.001,
        client_order_id: `ok-${Date.now()}`,
      });
      return r.status === 200 ? r : undefined;
    });
    expect(ok.body.pretrade).toMatchObject({ source: "local", approved: true });
  });

  it("refuses malformed orders before anything reaches the venue", async () => {
    const before = rt.paper.health().requests;
    const unknown = await post("submit_order", { symbol: "DOGE/USDT", side: "buy", amount: 1 });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toMatch(/unknown symbol DOGE\/USDT/);
    const tick = await post("submit_order", {
      symbol: "BTC/USDT",
      side: "buy",
      type: "limit",
      amount: 0.001,
      price: 100.001,
    });
    expect(tick.status).toBe(400);
    expect(JSON.stringify(tick.body)).toMatch(/tick size 0.01/);
    const zero = await post("submit_order", { symbol: "BTC/USDT", side: "buy", amount: 0 });
    expect(zero.status).toBe(400);
    const noPrice = await post("submit_order", {
      symbol: "BTC/USDT",
      side: "buy",
      type: "limit",
      amount: 0.001,
    });
    expect(noPrice.status).toBe(400);
    expect(JSON.stringify(noPrice.body)).toMatch(/needs a price/);
    expect(rt.paper.health().requests).toBe(before);
  });

  it("publishes the simulated paper market to MARKET and reports its feed as the stream", async () => {
    rt.feed.tick();
    const market = await eventually(async () => {
      const evs = await storedEvents(bus, "MARKET");
      return evs.filter((e) => e.source === "exchange").length >= 12 ? evs : undefined;
    });
    const candles = market.filter((e) => e.type === "candle.closed");
    expect(new Set(candles.map((e) => e.subject))).toEqual(
      new Set([
        subjects.market.of("paper", "candle", "BTC/USDT"),
        subjects.market.of("paper", "candle", "ETH/USDT"),
      ]),
    );
    expect(market.some((e) => e.type === "book.updated")).toBe(true);
    expect(market.some((e) => e.type === "ticker.updated")).toBe(true);
    const sub = await post("subscribe_market", { symbol: "ETH/USDT" });
    expect((sub.body.streams as { mode: string }[]).map((x) => x.mode)).toEqual(["feed", "feed"]);
  });

  it("stamps every paper fill on the market's time base: inside the bar it trades on", async () => {
    const MINUTE = 60_000;
    const btc = (candles: Candle[]) => candles.find((c) => c.symbol === "BTC/USDT") as Candle;
    /** A time of the bar that closed at `c.ts + 1 min`: at its close or after, before the next one. */
    const inBar = (ts: number, c: Candle) => ts >= c.ts + MINUTE && ts < c.ts + 2 * MINUTE;
    // Ten bars in a few milliseconds: the market runs minutes ahead of the wall clock, so a fill
    // stamped with the wall clock (or a candle's own open time) falls outside the bar.
    let last = btc(rt.feed.tick());
    for (let k = 0; k < 9; k++) last = btc(rt.feed.tick());
    expect(last.ts).toBeGreaterThan(Date.now() + 5 * MINUTE);
    const market = await post("submit_order", {
      symbol: "BTC/USDT",
      side: "buy",
      type: "market",
      amount: 0.001,
      client_order_id: "clock-1",
    });
    const arriving = (market.body.fills as FillWire[])[0] as FillWire;
    expect(inBar(arriving.timestamp, last)).toBe(true);
    // A resting limit under the last close fills on a later bar, stamped on that bar's time.
    const price = Math.round(last.close * 0.9995 * 100) / 100;
    const resting = await post("submit_order", {
      symbol: "BTC/USDT",
      side: "buy",
      type: "limit",
      amount: 0.001,
      price,
      client_order_id: "clock-2",
    });
    expect((resting.body.order as OrderWire).status).toBe("accepted");
    let filledOn: Candle | undefined;
    for (let k = 0; k < 500 && filledOn === undefined; k++) {
      const bar = btc(rt.feed.tick());
      const got = (await post("get_order", { client_order_id: "clock-2" })).body;
      if ((got.order as OrderWire).status === "filled") filledOn = bar;
    }
    expect(filledOn).toBeDefined();
    const fills = (await post("get_order", { client_order_id: "clock-2" })).body.fills as FillWire[];
    expect(fills.length).toBeGreaterThan(0);
    for (const f of fills) expect(inBar(f.timestamp, filledOn as Candle)).toBe(true);
  });

  it("plans a route over the paper book by all-in price", async () => {
    const { body } = await post("route_order", { symbol: "BTC/USDT", side: "buy", amount: 0.005 });
    expect(body.legs).toHaveLength(1);
    expect(body).toMatchObject({ executed: false, planned: 0.005, filled: 0 });
  });
});
