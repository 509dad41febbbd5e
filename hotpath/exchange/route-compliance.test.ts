import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { loadConfig } from "../../core/config.ts";
import type { OrderBook } from "../../core/domain/market.ts";
import type { Order } from "../../core/domain/trading.ts";
import type { FillWire, OrderWire } from "../../core/domain/wire.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { eventually, privateNats, testBus } from "../../test/nats.ts";
import type { RunningService } from "../kit/types.ts";
import type { ExchangeRuntime } from "./runtime.ts";
import { startExchange } from "./service.ts";
import { storedEvents, toolPoster } from "./testing.ts";

/**
 * route_order executed on the paper venue (prices on the tick, totals from real fills) and the
 * exchange's pre-trade compliance (same rules as the surveillance function, refused before the venue).
 */
const nats = await privateNats();
const bus = await testBus(nats.url, "exchange-route");
await ensureTopology(bus);

const config = loadConfig({
  PAPER_BALANCES: "USDT:100000",
  PAPER_SEED: "route-test",
  COMPLIANCE_RESTRICTED_SYMBOLS: "ETH/USDT",
  COMPLIANCE_MAX_ORDER_NOTIONAL: "150000",
  COMPLIANCE_PRICE_BAND: "0.05",
});

let svc: RunningService;
let rt: ExchangeRuntime;
const post = toolPoster(() => svc.url);
const onTick = (p: number, tick: number) => Math.abs(p / tick - Math.round(p / tick)) < 1e-6;

beforeAll(async () => {
  svc = await startExchange(
    { config, bus, logger: quietLogger() },
    { port: 0, instanceId: "exchange-route" },
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

interface Leg {
  venue: string;
  amount: number;
  worst_price: number;
  limit_price?: number;
  filled: number;
  fill_price?: number;
  fee_paid: number;
  status?: string;
  order?: OrderWire;
  fills?: FillWire[];
  error?: string;
  code?: number;
}

describe("route_order on the paper venue", () => {
  it("prices the paper book on the venue's tick", async () => {
    const tick = rt.paper.market("BTC/USDT")?.tickSize ?? 0;
    expect(tick).toBe(0.01);
    const book = (await post("get_order_book", { symbol: "BTC/USDT", depth: 10 }))
      .body as unknown as OrderBook;
    for (const [price] of [...book.bids, ...book.asks]) expect(onTick(price, tick)).toBe(true);
    const ticker = (await post("get_ticker", { symbol: "BTC/USDT" })).body as { bid: number; ask: number };
    expect(onTick(ticker.bid, tick) && onTick(ticker.ask, tick)).toBe(true);
  });

  it("executes and reports what really filled, leg by leg", async () => {
    const { status, body } = await post("route_order", {
      symbol: "BTC/USDT",
      side: "buy",
      amount: 0.002,
      execute: true,
      client_order_id: "route-1",
    });
    expect(status).toBe(200);
    const legs = body.legs as Leg[];
    expect(legs).toHaveLength(1);
    const leg = legs[0] as Leg;
    expect(leg.error).toBeUndefined();
    expect(leg.order).toMatchObject({ status: "filled", client_order_id: "route-1-1", filled: 0.002 });
    expect(leg.status).toBe("filled");
    // The totals are the fills' own sums (tolerance 1e-12 absolute on amounts, 1e-9 relative on prices).
    const fills = leg.fills ?? [];
    const amount = fills.reduce((s, f) => s + f.amount, 0);
    const vwap = fills.reduce((s, f) => s + f.amount * f.price, 0) / amount;
    expect(Math.abs(amount - 0.002)).toBeLessThan(1e-12);
    expect(Math.abs(leg.filled - amount)).toBeLessThan(1e-12);
    expect(Math.abs((leg.fill_price ?? 0) - vwap)).toBeLessThanOrEqual(1e-9 * vwap);
    expect(leg.fee_paid).toBeCloseTo(
      fills.reduce((s, f) => s + f.fee.cost, 0),
      12,
    );
    expect(body).toMatchObject({ executed: true, planned: 0.002, unfilled: 0 });
    expect(Math.abs((body.filled as number) - amount)).toBeLessThan(1e-12);
    expect(onTick(leg.limit_price ?? 0.001, 0.01)).toBe(true);
  });

  it("reports a leg the venue refused as unfilled, with its error and code", async () => {
    // 2.5 BTC ≈ 125 000 USDT: under the compliance maximum, but 125 % of the account's equity, far
    // above the risk limit (MAX_POSITION_SIZE 2 %): the in-process risk check refuses the leg.
    const { status, body } = await post("route_order", {
      symbol: "BTC/USDT",
      side: "buy",
      amount: 2.5,
      execute: true,
      client_order_id: "route-2",
    });
    expect(status).toBe(200);
    const leg = (body.legs as Leg[])[0] as Leg;
    expect(leg.filled).toBe(0);
    expect(leg.error).toMatch(/^pre-trade check failed: BTC\/USDT position would be/);
    expect(leg.code).toBe(-32003);
    expect(body).toMatchObject({ executed: true, filled: 0, unfilled: 2.5 });
    expect(body.planned as number).toBeGreaterThan(0);
  });

  it("plans without executing: nothing is reported as filled", async () => {
    const { body } = await post("route_order", { symbol: "BTC/USDT", side: "buy", amount: 0.005 });
    expect(body).toMatchObject({ executed: false, planned: 0.005, filled: 0, unfilled: 0.005 });
  });
});

describe("pre-trade compliance in the exchange", () => {
  const refusedBeforeVenue = async (args: Record<string, unknown>, rule: string) => {
    const before = rt.paper.health().requests;
    const { status, body } = await post("submit_order", args);
    expect(status).toBe(422);
    const error = body.error as {
      message: string;
      data: { code: string; cause: string; violations: { rule: string }[] };
    };
    expect(error.message).toMatch(/^compliance check failed/);
    expect(error.data).toMatchObject({ cause: "compliance", code: "compliance.refused" });
    expect(error.data.violations.map((v) => v.rule)).toContain(rule);
    expect(rt.paper.health().requests).toBe(before);
    return error;
  };

  it("refuses a limit 20.6 % away from the market before it reaches the venue, and publishes it rejected", async () => {
    const last = rt.oms.price("paper", "BTC/USDT") ?? 0;
    const price = Math.round(last * 0.794 * 100) / 100;
    await refusedBeforeVenue(
      { symbol: "BTC/USDT", side: "buy", type: "limit", amount: 0.01, price, client_order_id: "band-1" },
      "price_band",
    );
    const rejected = await eventually(async () =>
      (await storedEvents(bus)).find(
        (e) => e.type === "order.rejected" && (e.data as Order).clientOrderId === "band-1",
      ),
    );
    expect((rejected.data as Order).reason).toMatch(/price_band/);
    // Inside the band the same kind of order goes through.
    const near = Math.round(last * 0.97 * 100) / 100;
    const ok = await post("submit_order", {
      symbol: "BTC/USDT",
      side: "buy",
      type: "limit",
      amount: 0.01,
      price: near,
      client_order_id: "band-2",
    });
    expect(ok.status).toBe(200);
  });

  it("refuses a restricted symbol and an order above the maximum notional", async () => {
    await refusedBeforeVenue(
      { symbol: "ETH/USDT", side: "buy", amount: 0.1, client_order_id: "eth-1" },
      "restricted_symbol",
    );
    await refusedBeforeVenue(
      { symbol: "BTC/USDT", side: "buy", amount: 3.5, client_order_id: "big-1" },
      "max_order_notional",
    );
  });
});
