import { describe, expect, it } from "vitest";
import type { Fill, Order } from "../../core/domain/trading.ts";
import { testConfig } from "../trigger/testing.ts";
import { checkOrder, initialState, onFill, onOrder, ratios, thresholdsOf } from "./rules.ts";

const t = thresholdsOf(
  testConfig({
    COMPLIANCE_RESTRICTED_SYMBOLS: "luna/usdt",
    COMPLIANCE_MAX_ORDER_NOTIONAL: "50000",
    COMPLIANCE_ACCOUNT_EQUITY: "100000",
    MAX_POSITION_SIZE: "0.02",
    COMPLIANCE_PRICE_BAND: "0.05",
    COMPLIANCE_WASH_WINDOW_MS: "60000",
    COMPLIANCE_RATIO_MIN_ORDERS: "4",
    COMPLIANCE_MAX_ORDER_TO_TRADE: "3",
    COMPLIANCE_MAX_CANCEL_RATIO: "0.5",
  }),
);

const fill = (
  f: Partial<Fill> & Pick<Fill, "id" | "orderId" | "side" | "amount" | "price" | "timestamp">,
): Fill => ({
  clientOrderId: `c-${f.orderId}`,
  account: "a",
  venue: "paper",
  symbol: "BTC/USDT",
  fee: { currency: "USDT", cost: 0 },
  liquidity: "taker",
  ...f,
});

const order = (o: Partial<Order> & Pick<Order, "id" | "status">): Order => ({
  clientOrderId: `c-${o.id}`,
  account: "a",
  venue: "paper",
  symbol: "BTC/USDT",
  side: "buy",
  type: "limit",
  amount: 0.01,
  price: 40_000,
  filled: 0,
  remaining: 0.01,
  createdAt: 1_000,
  updatedAt: 1_000,
  ...o,
});

describe("compliance rules (pure)", () => {
  it("reads the restricted list case-insensitively and flags it", () => {
    const r = checkOrder(
      initialState(),
      { account: "a", symbol: "LUNA/USDT", side: "buy", type: "market", amount: 1 },
      t,
    );
    expect(r.violations.map((v) => v.rule)).toEqual(["restricted_symbol"]);
  });

  it("computes the notional as amount × price and compares it with the maximum", () => {
    // 1.25 × 40 000 = 50 000: at the limit, allowed; 1.26 × 40 000 = 50 400: over it.
    const s = initialState();
    const at = checkOrder(
      s,
      { account: "a", symbol: "BTC/USDT", side: "sell", type: "limit", amount: 1.25, price: 40_000 },
      t,
    );
    expect(at.violations.filter((v) => v.rule === "max_order_notional")).toEqual([]);
    const over = checkOrder(
      s,
      { account: "a", symbol: "BTC/USDT", side: "sell", type: "limit", amount: 1.26, price: 40_000 },
      t,
    );
    const v = over.violations.find((x) => x.rule === "max_order_notional");
    expect(v?.details.notional).toBeCloseTo(50_400, 8);
  });

  it("judges the prospective position as |position + amount| × price / equity against MAX_POSITION_SIZE", () => {
    const s = initialState();
    s.positions["a|BTC/USDT"] = 0.04;
    // (0.04 + 0.01) × 40 000 / 100 000 = 0.02: at the limit.
    const at = checkOrder(
      s,
      { account: "a", symbol: "BTC/USDT", side: "buy", type: "limit", amount: 0.01, price: 40_000 },
      t,
    );
    expect(at.violations).toEqual([]);
    // (0.04 + 0.02) × 40 000 / 100 000 = 0.024 > 0.02.
    const over = checkOrder(
      s,
      { account: "a", symbol: "BTC/USDT", side: "buy", type: "limit", amount: 0.02, price: 40_000 },
      t,
    );
    expect(over.violations.map((x) => x.rule)).toEqual(["position_limit"]);
    expect(over.violations[0]?.details.fraction).toBeCloseTo(0.024, 10);
    // A reducing order is never a position violation.
    const reduce = checkOrder(
      s,
      { account: "a", symbol: "BTC/USDT", side: "sell", type: "limit", amount: 0.02, price: 40_000 },
      t,
    );
    expect(reduce.violations).toEqual([]);
  });

  it("measures the price band as |price − last| / last", () => {
    const s = initialState();
    s.lastPrices["BTC/USDT"] = 40_000;
    // 42 000: 5% exactly (allowed); 42 100: 5.25% (outside).
    const at = checkOrder(
      s,
      { account: "a", symbol: "BTC/USDT", side: "sell", type: "limit", amount: 0.001, price: 42_000 },
      t,
    );
    expect(at.violations).toEqual([]);
    const out = checkOrder(
      s,
      { account: "a", symbol: "BTC/USDT", side: "sell", type: "limit", amount: 0.001, price: 42_100 },
      t,
    );
    expect(out.violations.map((x) => x.rule)).toEqual(["price_band"]);
    expect(out.violations[0]?.details.distance).toBeCloseTo(0.0525, 10);
  });

  it("flags opposite-side fills of one account inside the window as a wash trade, and keeps the signed position", () => {
    const s = initialState();
    expect(
      onFill(
        s,
        fill({ id: "f1", orderId: "o1", side: "buy", amount: 0.01, price: 40_000, timestamp: 1_000 }),
        t,
      ).violations,
    ).toEqual([]);
    const wash = onFill(
      s,
      fill({ id: "f2", orderId: "o2", side: "sell", amount: 0.004, price: 40_010, timestamp: 61_000 }),
      t,
    );
    expect(wash.violations.map((v) => v.rule)).toEqual(["wash_trade"]);
    expect(s.positions["a|BTC/USDT"]).toBeCloseTo(0.006, 12);
    // Outside the window (60 001 ms later): no wash trade.
    const late = onFill(
      s,
      fill({ id: "f3", orderId: "o3", side: "buy", amount: 0.001, price: 40_000, timestamp: 121_001 }),
      t,
    );
    expect(late.violations).toEqual([]);
    // The same fill again changes nothing (idempotent on fill id).
    onFill(
      s,
      fill({ id: "f3", orderId: "o3", side: "buy", amount: 0.001, price: 40_000, timestamp: 121_001 }),
      t,
    );
    expect(s.positions["a|BTC/USDT"]).toBeCloseTo(0.007, 12);
  });

  it("does not call one strategy's round trip a wash trade, but flags two deciders on one account", () => {
    const s = initialState();
    const buy = fill({
      id: "g1",
      orderId: "p1",
      side: "buy",
      amount: 0.01,
      price: 40_000,
      timestamp: 1_000,
      strategyId: "s1",
    });
    expect(onFill(s, buy, t).violations).toEqual([]);
    // The same strategy exits 10 s later (its take profit or exit signal): a round trip, not a self-match.
    const exit = fill({
      id: "g2",
      orderId: "p2",
      side: "sell",
      amount: 0.01,
      price: 40_050,
      timestamp: 11_000,
      strategyId: "s1",
    });
    expect(onFill(s, exit, t).violations).toEqual([]);
    // Another strategy on the same account takes the other side: flagged.
    const other = fill({
      id: "g3",
      orderId: "p3",
      side: "buy",
      amount: 0.01,
      price: 40_050,
      timestamp: 12_000,
      strategyId: "s2",
    });
    const flagged = onFill(s, other, t).violations;
    expect(flagged.map((v) => v.rule)).toEqual(["wash_trade"]);
    expect(flagged[0]?.details.otherFillId).toBe("g2");
    // A manual order against a strategy's fill: flagged too (unattributed orders are always checked).
    const manual = fill({
      id: "g4",
      orderId: "p4",
      side: "sell",
      amount: 0.01,
      price: 40_050,
      timestamp: 13_000,
    });
    expect(onFill(s, manual, t).violations.map((v) => v.rule)).toEqual(["wash_trade"]);
  });

  it("raises the cancel and order-to-trade ratios once per window when enough orders are in it", () => {
    const s = initialState();
    const raised: string[] = [];
    for (let i = 0; i < 4; i++) {
      raised.push(
        ...onOrder(
          s,
          order({ id: `o${i}`, status: "submitted", createdAt: 1_000 + i, updatedAt: 1_000 + i }),
          t,
        ).violations.map((v) => v.rule),
      );
    }
    // 4 orders, 0 traded: ratio 4 / max(1, 0) = 4 > 3.
    expect(raised).toEqual(["order_to_trade_ratio"]);
    for (let i = 0; i < 3; i++) {
      raised.push(
        ...onOrder(s, order({ id: `o${i}`, status: "canceled", updatedAt: 2_000 + i }), t).violations.map(
          (v) => v.rule,
        ),
      );
    }
    // 3 of 4 canceled = 0.75 > 0.5 — raised once, at the third cancel; the OTR is not raised again.
    expect(raised).toEqual(["order_to_trade_ratio", "cancel_ratio"]);
    expect(ratios(s, "a", "BTC/USDT")).toMatchObject({
      orders: 4,
      filled: 0,
      canceled: 3,
      cancelRatio: 0.75,
    });
  });

  it("judges one order once, whether its event carries the client id or the venue id", () => {
    // The exchange publishes order.submitted with id = client id, then order.accepted with the venue's id.
    const s = initialState();
    s.lastPrices["BTC/USDT"] = 50_000;
    const far = { clientOrderId: "band-1", price: 39_700, createdAt: 1_000 };
    const submitted = onOrder(s, order({ ...far, id: "band-1", status: "submitted", updatedAt: 1_000 }), t);
    const accepted = onOrder(s, order({ ...far, id: "paper-8", status: "accepted", updatedAt: 1_001 }), t);
    expect(submitted.violations.map((v) => v.rule)).toEqual(["price_band"]);
    expect(accepted.violations).toEqual([]);
    expect(ratios(s, "a", "BTC/USDT").orders).toBe(1);
    // Its fill (venue order id) marks the same tracked order as traded.
    onFill(
      s,
      fill({
        id: "f1",
        orderId: "paper-8",
        clientOrderId: "band-1",
        side: "buy",
        amount: 0.01,
        price: 39_700,
        timestamp: 1_002,
      }),
      t,
    );
    expect(ratios(s, "a", "BTC/USDT").filled).toBe(1);
  });

  it("keeps detecting wash trades after one fill stamped 19 minutes ahead", () => {
    const s = initialState();
    const ahead = 19 * 60_000;
    // A resting-order fill on another symbol, stamped in the future but arriving now (t = 1 000).
    onFill(
      s,
      fill({
        id: "bad",
        orderId: "o0",
        symbol: "ETH/USDT",
        side: "buy",
        amount: 1,
        price: 3_000,
        timestamp: 1_000 + ahead,
      }),
      t,
      1_000,
    );
    const buy = onFill(
      s,
      fill({ id: "f1", orderId: "o1", side: "buy", amount: 0.01, price: 40_000, timestamp: 2_000 }),
      t,
      2_000,
    );
    const sell = onFill(
      s,
      fill({ id: "f2", orderId: "o2", side: "sell", amount: 0.01, price: 40_000, timestamp: 3_000 }),
      t,
      3_000,
    );
    expect(buy.violations).toEqual([]);
    expect(sell.violations.map((v) => v.rule)).toEqual(["wash_trade"]);
    expect(sell.violations[0]?.details).toMatchObject({ otherFillId: "f1", gapMs: 1_000 });
    // Without arrival times (the event's own timestamp as the clock), the future fill would have
    // pruned f1 at once: the rule compares timestamps, pruning follows arrivals.
    expect(s.clock).toBe(3_000);
  });

  it("matches wash trades whatever order the fills arrive in, within the lateness allowed", () => {
    const s = initialState();
    // f2 (t = 50 000) arrives first; f1 (t = 0) arrives 60 s later: 50 s apart by their own clocks.
    onFill(
      s,
      fill({ id: "f2", orderId: "o2", side: "sell", amount: 0.01, price: 40_000, timestamp: 50_000 }),
      t,
      50_000,
    );
    const late = onFill(
      s,
      fill({ id: "f1", orderId: "o1", side: "buy", amount: 0.01, price: 40_000, timestamp: 0 }),
      t,
      110_000,
    );
    expect(late.violations.map((v) => v.rule)).toEqual(["wash_trade"]);
    // Arriving later than window × (1 + LATENESS_FACTOR) = 120 s after f2, a fill no longer finds it.
    const tooLate = onFill(
      s,
      fill({ id: "f3", orderId: "o3", side: "buy", amount: 0.01, price: 40_000, timestamp: 55_000 }),
      t,
      170_001,
    );
    expect(tooLate.violations).toEqual([]);
  });

  it("counts the ratio window around each order's own time, so one future-dated order does not blind it", () => {
    const s = initialState();
    const rules: string[] = [];
    // One order stamped 19 minutes ahead: raises nothing and does not suppress the later window.
    rules.push(
      ...onOrder(
        s,
        order({ id: "x", status: "submitted", createdAt: 1_140_000, updatedAt: 1_140_000 }),
        t,
        0,
      ).violations.map((v) => v.rule),
    );
    for (let i = 0; i < 4; i++) {
      const at = 1_000 + i;
      rules.push(
        ...onOrder(
          s,
          order({ id: `o${i}`, status: "submitted", createdAt: at, updatedAt: at }),
          t,
          at,
        ).violations.map((v) => v.rule),
      );
    }
    expect(rules).toEqual(["order_to_trade_ratio"]);
    expect(ratios(s, "a", "BTC/USDT", { at: 1_003, windowMs: t.ratioWindowMs }).orders).toBe(4);
  });
});
