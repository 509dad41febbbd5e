import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { loadConfig } from "../../core/config.ts";
import type { FillWire, OrderWire } from "../../core/domain/wire.ts";
import type { EventEnvelope } from "../../core/protocol/envelope.ts";
import { headers, subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { eventually, privateNats, testBus } from "../../test/nats.ts";
import type { RunningService } from "../kit/types.ts";
import { CcxtVenue } from "./ccxt-venue.ts";
import { BinanceEmulator } from "./emulator/binance.ts";
import { ccxtVenueOptions } from "./runtime.ts";
import { startExchange } from "./service.ts";
import { emulatedBinance, storedEvents, toolPoster } from "./testing.ts";

/**
 * The exchange service trading through ccxt's real `binance` class (request signing, parsing, error
 * mapping) against the local Binance REST emulator, over a real nats-server.
 */
const nats = await privateNats();
const bus = await testBus(nats.url, "exchange-ccxt");
await ensureTopology(bus);
const emu = new BinanceEmulator();
await emu.start();
afterAll(() => emu.stop());

// Resting limits here sit up to 12 % from the market on purpose: the compliance price band is widened
// so the exchange's pre-trade compliance (tested in route-compliance.test.ts) lets them through.
const config = loadConfig({
  EXCHANGE_POLL_MS: "100",
  MAX_RECONNECT_ATTEMPTS: "2",
  BINANCE_TESTNET: "false",
  COMPLIANCE_PRICE_BAND: "0.25",
});
let svc: RunningService;

const post = toolPoster(() => svc.url);
const submit = (body: Record<string, unknown>) =>
  post("submit_order", { venue: "binance", symbol: "BTC/USDT", ...body });
const placed = (clientOrderId: string) => emu.orders.filter((o) => o.clientOrderId === clientOrderId);
const postsOf = (clientOrderId: string) =>
  emu.requestsTo("POST /api/v3/order").filter((r) => r.params.newClientOrderId === clientOrderId);
const eventsOf = async (pred: (e: EventEnvelope) => boolean) => (await storedEvents(bus)).filter(pred);
const ofOrder = (clientOrderId: string) => (e: EventEnvelope) =>
  (e.data as { clientOrderId?: string }).clientOrderId === clientOrderId;

beforeAll(async () => {
  const venue = emulatedBinance(emu, { burst: 50, refillPerSecond: 500 });
  svc = await startExchange(
    { config, bus, logger: quietLogger() },
    { port: 0, instanceId: "exchange-ccxt" },
    {
      venues: [venue],
      feedTimer: false,
      streamsMode: "poll",
      reconcileDelayMs: 20,
      streamBackoffMs: 20,
      durableTimeoutMs: 30_000,
    },
  );
});
afterAll(async () => {
  await svc.stop();
});

describe("ccxt binance against the emulator", () => {
  it("runs a full lifecycle: accepted, partially filled, filled — each state and fill published once", async () => {
    const status = await post("get_exchange_status", { exchange: "binance" });
    expect(status.body).toMatchObject({ configured: true, kind: "ccxt", mode: "emulated", connection: "up" });

    const { status: code, body } = await submit({
      type: "limit",
      side: "buy",
      amount: 0.1,
      price: 49_000,
      client_order_id: "life-1",
    });
    expect(code).toBe(200);
    const order = body.order as OrderWire;
    expect(order).toMatchObject({ status: "accepted", venue: "binance", filled: 0 });
    const emuOrder = placed("life-1")[0];
    expect(emuOrder?.orderId).toBe(Number(order.id));

    emu.fillOrder(Number(order.id), 0.04);
    await eventually(
      async () => (await post("get_order", { venue: "binance", client_order_id: "life-1" })).body.order,
      5_000,
    ).then(() => undefined);
    await eventually(async () => {
      const o = (await post("get_order", { venue: "binance", client_order_id: "life-1" })).body
        .order as OrderWire;
      return o.status === "partially_filled";
    });
    emu.fillOrder(Number(order.id));
    const done = await eventually(async () => {
      const r = (await post("get_order", { venue: "binance", client_order_id: "life-1" })).body;
      return (r.order as OrderWire).status === "filled" ? r : undefined;
    });
    const fills = done.fills as FillWire[];
    expect(fills.map((f) => [f.amount, f.price, f.liquidity])).toEqual([
      [0.04, 49_000, "maker"],
      [0.06, 49_000, "maker"],
    ]);
    expect(fills[0]?.fee).toEqual({ currency: "USDT", cost: 49_000 * 0.04 * 0.001 });

    const events = await eventually(async () => {
      const evs = await eventsOf(ofOrder("life-1"));
      return evs.some((e) => e.type === "order.filled") ? evs : undefined;
    });
    expect(events.map((e) => e.type)).toEqual([
      "order.submitted",
      "order.accepted",
      "fill.executed",
      "order.partially_filled",
      "fill.executed",
      "order.filled",
    ]);

    // Cancel a second resting order.
    const second = (
      await submit({ type: "limit", side: "buy", amount: 0.1, price: 48_000, client_order_id: "life-2" })
    ).body;
    const canceled = await post("cancel_order", { venue: "binance", client_order_id: "life-2" });
    expect(canceled.body.order).toMatchObject({ status: "canceled", id: (second.order as OrderWire).id });
    expect(placed("life-2")[0]?.status).toBe("CANCELED");
  });

  it("fills a market order from the order response's trades", async () => {
    const { body } = await submit({ type: "market", side: "buy", amount: 0.6, client_order_id: "mkt-1" });
    expect(body.order).toMatchObject({ status: "filled", filled: 0.6 });
    expect((body.fills as FillWire[]).map((f) => [f.price, f.amount])).toEqual([
      [50_010, 0.5],
      [50_020, 0.1],
    ]);
  });

  it("routes across paper and binance by all-in price, and executes one leg per venue", async () => {
    const both = (
      await post("route_order", {
        symbol: "BTC/USDT",
        side: "buy",
        amount: 0.01,
        venues: ["paper", "binance"],
      })
    ).body;
    const legs = both.legs as { venue: string; amount: number; all_in_price: number }[];
    expect(legs.reduce((sum, l) => sum + l.amount, 0)).toBeCloseTo(0.01, 12);
    const run = (
      await post("route_order", {
        symbol: "BTC/USDT",
        side: "buy",
        amount: 0.02,
        venues: ["binance"],
        execute: true,
        client_order_id: "route-1",
        account: "routing",
      })
    ).body;
    const leg = (
      run.legs as { venue: string; amount: number; worst_price: number; order?: OrderWire; error?: string }[]
    )[0];
    expect(leg?.error).toBeUndefined();
    expect(leg).toMatchObject({ venue: "binance", amount: 0.02, worst_price: 50_010 });
    expect(leg?.order).toMatchObject({ status: "filled", client_order_id: "route-1-1", filled: 0.02 });
    expect(placed("route-1-1")).toHaveLength(1);
  });

  it("carries the submitting call's correlation id on every event of the order", async () => {
    const res = await fetch(`${svc.url}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/json", [headers.correlationId]: "flow-42" },
      body: JSON.stringify({
        id: "c1",
        method: "tool.execute",
        params: {
          agent: "exchangespec",
          tool: "submit_order",
          args: {
            venue: "binance",
            symbol: "BTC/USDT",
            side: "buy",
            type: "market",
            amount: 0.01,
            client_order_id: "corr-1",
          },
        },
      }),
    });
    expect(res.status).toBe(200);
    const events = await eventually(async () => {
      const evs = await eventsOf(ofOrder("corr-1"));
      return evs.some((e) => e.type === "order.filled") ? evs : undefined;
    });
    expect(events.length).toBeGreaterThanOrEqual(4);
    expect(new Set(events.map((e) => e.correlationid))).toEqual(new Set(["flow-42"]));
  });

  it("places stop and stop-limit orders as Binance STOP_LOSS and STOP_LOSS_LIMIT", async () => {
    const stop = await submit({
      type: "stop",
      side: "sell",
      amount: 0.01,
      stop_price: 45_000,
      client_order_id: "stop-1",
    });
    expect(stop.body.order).toMatchObject({ status: "accepted", type: "stop", stop_price: 45_000 });
    expect(placed("stop-1")[0]).toMatchObject({ type: "STOP_LOSS", stopPrice: "45000.00000000" });
    const sl = await submit({
      type: "stop_limit",
      side: "sell",
      amount: 0.01,
      stop_price: 45_000,
      price: 44_900,
      client_order_id: "stop-2",
    });
    expect(sl.body.order).toMatchObject({ status: "accepted", type: "stop_limit", price: 44_900 });
    expect(placed("stop-2")[0]).toMatchObject({ type: "STOP_LOSS_LIMIT", price: "44900.00000000" });
  });

  it("backs off a 429 storm by Retry-After and then places the order once", async () => {
    emu.inject({
      fault: { kind: "status", status: 429, retryAfterSec: 1 },
      times: 2,
      match: "POST /api/v3/order",
    });
    const { status } = await submit({
      type: "limit",
      side: "buy",
      amount: 0.01,
      price: 47_000,
      client_order_id: "storm-1",
    });
    expect(status).toBe(200);
    const posts = postsOf("storm-1");
    expect(posts.map((p) => p.fault ?? "ok")).toEqual(["status", "status", "ok"]);
    // Nothing was sent before each Retry-After (1 s) had passed (5 ms allowance for clock granularity).
    for (let i = 1; i < posts.length; i++) {
      expect((posts[i]?.at ?? 0) - (posts[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(995);
    }
    expect(placed("storm-1")).toHaveLength(1);
    const s = (await post("get_exchange_status", { exchange: "binance" })).body;
    expect((s.rate_limit as { throttled_total: number }).throttled_total).toBeGreaterThanOrEqual(2);
  });

  it("honours a 418 ban: reports it, waits it out, then places the order", async () => {
    emu.inject({
      fault: { kind: "status", status: 418, retryAfterSec: 1 },
      times: 1,
      match: "POST /api/v3/order",
    });
    const pending = submit({
      type: "limit",
      side: "buy",
      amount: 0.01,
      price: 47_000,
      client_order_id: "ban-1",
    });
    const banned = await eventually(async () => {
      const s = (await post("get_exchange_status", { exchange: "binance" })).body;
      return (s.rate_limit as { banned: boolean }).banned ? s : undefined;
    });
    expect(String((banned.last_error as { message: string }).message)).toMatch(/418/);
    expect((await pending).status).toBe(200);
    expect(placed("ban-1")).toHaveLength(1);
  });

  it("reconciles a dropped response by client order id instead of placing twice", async () => {
    emu.inject({ fault: { kind: "drop" }, times: 1, match: "POST /api/v3/order" });
    const { status, body } = await submit({
      type: "limit",
      side: "buy",
      amount: 0.02,
      price: 46_000,
      client_order_id: "drop-1",
    });
    expect(status).toBe(200);
    expect(postsOf("drop-1")).toHaveLength(1);
    expect(placed("drop-1")).toHaveLength(1);
    expect((body.order as OrderWire).id).toBe(String(placed("drop-1")[0]?.orderId));
    expect(emu.requestsTo("GET /api/v3/order").some((r) => r.params.origClientOrderId === "drop-1")).toBe(
      true,
    );

    // A request lost before the venue applied it: confirmed absent, then placed (once).
    emu.inject({ fault: { kind: "down" }, times: 1, match: "POST /api/v3/order" });
    const lost = await submit({
      type: "limit",
      side: "buy",
      amount: 0.02,
      price: 46_000,
      client_order_id: "lost-1",
    });
    expect(lost.status).toBe(200);
    expect(postsOf("lost-1")).toHaveLength(2);
    expect(placed("lost-1")).toHaveLength(1);
  });

  it("treats a 5xx on submit as unknown: looks the order up, then places it once", async () => {
    emu.inject({ fault: { kind: "status", status: 503 }, times: 1, match: "POST /api/v3/order" });
    const { status } = await submit({
      type: "limit",
      side: "buy",
      amount: 0.02,
      price: 46_000,
      client_order_id: "5xx-1",
    });
    expect(status).toBe(200);
    expect(postsOf("5xx-1").map((p) => p.status)).toEqual([503, 200]);
    expect(placed("5xx-1")).toHaveLength(1);
  });

  it("leaves an order alone while its placement is in flight (slow venue, polls running)", async () => {
    emu.inject({ fault: { kind: "latency", ms: 500 }, times: 1, match: "POST /api/v3/order" });
    const { status, body } = await submit({
      type: "limit",
      side: "buy",
      amount: 0.02,
      price: 46_000,
      client_order_id: "slow-1",
    });
    expect(status).toBe(200);
    expect(body.order).toMatchObject({ status: "accepted" });
    await new Promise((r) => setTimeout(r, 200));
    const types = (await eventsOf(ofOrder("slow-1"))).map((e) => e.type);
    expect(types).toEqual(["order.submitted", "order.accepted"]);
  });

  it("refuses bad orders with clear errors and sends nothing", async () => {
    const before = emu.requestsTo("POST /api/v3/order").length;
    const unknown = await submit({ symbol: "XRP/USDT", type: "limit", side: "buy", amount: 1, price: 1 });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toMatch(/unknown symbol XRP\/USDT on venue binance/);
    const zero = await submit({ type: "limit", side: "buy", amount: 0, price: 49_000 });
    expect(zero.status).toBe(400);
    const tick = await submit({ type: "limit", side: "buy", amount: 0.01, price: 49_000.005 });
    expect(tick.status).toBe(400);
    expect(JSON.stringify(tick.body)).toMatch(/price 49000.005 is not a multiple of the tick size 0.01/);
    const step = await submit({ type: "limit", side: "buy", amount: 0.000015, price: 49_000 });
    expect(step.status).toBe(400);
    expect(JSON.stringify(step.body)).toMatch(/step size 0.00001/);
    const small = await submit({ type: "limit", side: "buy", amount: 0.00001, price: 49_000 });
    expect(JSON.stringify(small.body)).toMatch(/notional .* below the minimum 5/);
    expect(emu.requestsTo("POST /api/v3/order").length).toBe(before);
  });

  it("recovers from an outage during which the venue filled an order: fill published exactly once", async () => {
    const { body } = await submit({
      type: "limit",
      side: "sell",
      amount: 0.05,
      price: 52_000,
      client_order_id: "out-1",
    });
    const id = Number((body.order as OrderWire).id);
    emu.inject({ fault: { kind: "down" }, times: Number.POSITIVE_INFINITY });
    await eventually(
      async () => (await post("get_exchange_status", { exchange: "binance" })).body.connection === "down",
    );
    const refused = await submit({
      type: "limit",
      side: "buy",
      amount: 0.01,
      price: 45_000,
      client_order_id: "out-2",
    });
    expect(refused.status).toBe(503);
    expect(JSON.stringify(refused.body)).toMatch(/resynced/);
    emu.fillOrder(id);
    emu.clearFaults();
    await eventually(
      async () => (await post("get_exchange_status", { exchange: "binance" })).body.connection === "up",
    );
    const after = (await post("get_order", { venue: "binance", client_order_id: "out-1" })).body;
    expect(after.order).toMatchObject({ status: "filled", filled: 0.05 });
    // Let a few more polls run, then count.
    await new Promise((r) => setTimeout(r, 400));
    const events = await eventsOf(ofOrder("out-1"));
    expect(events.filter((e) => e.type === "fill.executed")).toHaveLength(1);
    expect(events.filter((e) => e.type === "order.filled")).toHaveLength(1);
    const retry = await submit({
      type: "limit",
      side: "buy",
      amount: 0.01,
      price: 45_000,
      client_order_id: "out-2",
    });
    expect(retry.status).toBe(200);
  });

  it("adopts, on resync, an open order the venue has and the service never saw", async () => {
    // Another client with the same keys places an order while this service is cut off from the venue.
    const other = emulatedBinance(emu);
    await other.init();
    emu.inject({ fault: { kind: "down" }, times: Number.POSITIVE_INFINITY, match: "GET /api/v3/openOrders" });
    await eventually(
      async () => (await post("get_exchange_status", { exchange: "binance" })).body.connection === "down",
    );
    await other.placeOrder({
      clientOrderId: "ghost-1",
      account: "default",
      venue: "binance",
      symbol: "BTC/USDT",
      side: "buy",
      type: "limit",
      amount: 0.01,
      price: 44_000,
    });
    await other.close();
    emu.clearFaults();
    await eventually(
      async () => (await post("get_exchange_status", { exchange: "binance" })).body.connection === "up",
    );
    const listed = (await post("list_orders", { venue: "binance", status: "open" })).body
      .orders as OrderWire[];
    expect(listed.find((o) => o.client_order_id === "ghost-1")).toMatchObject({
      status: "accepted",
      price: 44_000,
    });
  });

  it("polls market data into MARKET, and reports a stream down after MAX_RECONNECT_ATTEMPTS", async () => {
    const sub = await post("subscribe_market", { venue: "binance", symbol: "BTC/USDT", kinds: ["ticker"] });
    expect((sub.body.streams as { mode: string }[])[0]?.mode).toBe("poll");
    await eventually(async () =>
      (await storedEvents(bus, "MARKET")).some(
        (e) => e.type === "ticker.updated" && (e.data as { venue: string }).venue === "binance",
      ),
    );
    emu.inject({
      fault: { kind: "down" },
      times: Number.POSITIVE_INFINITY,
      match: "GET /api/v3/ticker/24hr",
    });
    const down = await eventually(async () => {
      const evs = await storedEvents(bus);
      return evs.find((e) => e.type === "stream.down");
    });
    expect(down.data).toMatchObject({ venue: "binance", symbol: "BTC/USDT", kind: "ticker", attempts: 2 });
    const s = (await post("get_exchange_status", { exchange: "binance" })).body;
    expect((s.streams as { state: string }[])[0]?.state).toBe("down");
    // The stream outage made the service resync the venue from REST before taking orders again.
    const failedAt = emu.requestsTo("GET /api/v3/ticker/24hr").find((r) => r.fault === "down")?.at ?? 0;
    await eventually(
      async () => (await post("get_exchange_status", { exchange: "binance" })).body.connection === "up",
    );
    expect(emu.requestsTo("GET /api/v3/account").some((r) => r.at >= failedAt)).toBe(true);
    emu.clearFaults();
  });
});

describe("ccxt venues configured from the environment", () => {
  it("reads per-venue keys and URL overrides, binance from the config and others from <ID>_* variables", () => {
    const cfg = loadConfig({ BINANCE_API_KEY: "bk", BINANCE_SECRET: "bs", BINANCE_TESTNET: "true" });
    expect(ccxtVenueOptions("binance", cfg, {})).toMatchObject({ apiKey: "bk", secret: "bs", sandbox: true });
    const kraken = ccxtVenueOptions("kraken", cfg, {
      KRAKEN_API_KEY: "k",
      KRAKEN_SECRET: "s",
      KRAKEN_API_URL: "http://127.0.0.1:1",
    });
    expect(kraken).toMatchObject({
      exchangeId: "kraken",
      apiKey: "k",
      secret: "s",
      apiBaseUrl: "http://127.0.0.1:1",
      sandbox: false,
    });
    expect(() => ccxtVenueOptions("kraken", cfg, { KRAKEN_API_URL: "ftp://x" })).toThrow(/KRAKEN_API_URL/);
  });

  it("serves market data but refuses orders for a venue listed without keys", async () => {
    const publicOnly = await startExchange(
      {
        config: loadConfig({
          EXCHANGE_VENUES: "binance",
          BINANCE_API_URL: emu.url,
          BINANCE_TESTNET: "false",
        }),
        bus,
        logger: quietLogger(),
      },
      { port: 0, instanceId: "exchange-public" },
      { feedTimer: false },
    );
    try {
      const call = async (tool: string, body: unknown) => {
        const res = await fetch(`${publicOnly.url}/tools/${tool}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      const status = await eventually(async () => {
        const s = (await call("get_exchange_status", { exchange: "binance" })).body;
        return s.connection === "up" ? s : undefined;
      });
      expect(status).toMatchObject({ configured: true, trading: false });
      expect(String(status.message)).toMatch(/no API keys/);
      const ticker = await call("get_ticker", { venue: "binance", symbol: "BTC/USDT" });
      expect(ticker.body).toMatchObject({ bid: 49_990, ask: 50_010 });
      const refused = await call("submit_order", {
        venue: "binance",
        symbol: "BTC/USDT",
        side: "buy",
        type: "limit",
        amount: 0.01,
        price: 49_000,
      });
      expect(refused.status).toBe(422);
      expect(JSON.stringify(refused.body)).toMatch(/no API keys/);
    } finally {
      await publicOnly.stop();
    }
  });
});

describe("ccxt.pro websocket streams against the emulator", () => {
  it("watches tickers over a websocket, and reconnects after the connection drops", async () => {
    const venue = new CcxtVenue({
      name: "binance",
      exchangeId: "binance",
      apiBaseUrl: emu.url,
      wsBaseUrl: emu.wsUrl(),
    });
    const ws = await startExchange(
      { config, bus, logger: quietLogger() },
      { port: 0, instanceId: "exchange-ws" },
      { venues: [venue], feedTimer: false, streamBackoffMs: 20 },
    );
    try {
      const call = async (tool: string, body: unknown) => {
        const res = await fetch(`${ws.url}/tools/${tool}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        return (await res.json()) as Record<string, unknown>;
      };
      await eventually(
        async () => (await call("get_exchange_status", { exchange: "binance" })).connection === "up",
      );
      const sub = await call("subscribe_market", { venue: "binance", symbol: "ETH/USDT", kinds: ["ticker"] });
      expect((sub.streams as { mode: string }[])[0]?.mode).toBe("watch");
      const streamOf = async () =>
        (
          (await call("get_exchange_status", { exchange: "binance" })).streams as {
            messages: number;
            reconnects: number;
            state: string;
          }[]
        )[0];
      await eventually(async () => ((await streamOf())?.messages ?? 0) >= 3);
      const tickers = (await storedEvents(bus, "MARKET")).filter(
        (e) => e.subject === subjects.market.of("binance", "ticker", "ETH/USDT"),
      );
      expect(tickers.length).toBeGreaterThanOrEqual(1);
      expect(tickers[0]?.data).toMatchObject({ venue: "binance", symbol: "ETH/USDT", last: 3_000 });

      emu.dropWebSockets();
      const after = await eventually(async () => {
        const s = await streamOf();
        return s !== undefined && s.reconnects >= 1 && s.state === "up" ? s : undefined;
      });
      const count = after.messages;
      await eventually(async () => ((await streamOf())?.messages ?? 0) > count + 2);
    } finally {
      await ws.stop();
    }
  });
});
