import { describe, expect, it } from "vitest";
import { allInPrice, feeOf, quoteCurrency } from "./fees.ts";
import {
  applyOutcome,
  type FillModelOptions,
  fillAgainstBook,
  fillAgainstCandle,
  type WorkingOrder,
} from "./fill-model.ts";

// Tolerance: prices and amounts are compared to 1e-9 relative (toBeCloseTo with 9 digits on values ~1e2–1e4
// would be too strict on absolute terms, so values are compared with explicit relative checks).
const close = (actual: number, expected: number) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));

const fees = { maker: 0.001, taker: 0.002 };
const opts = (extra: Partial<FillModelOptions> = {}): FillModelOptions => ({
  fees,
  slippageBps: 0,
  ...extra,
});

const book = {
  bids: [
    [99, 1],
    [98, 2],
    [97, 5],
  ] as [number, number][],
  asks: [
    [101, 1],
    [102, 2],
    [103, 5],
  ] as [number, number][],
};

const order = (o: Partial<WorkingOrder> & Pick<WorkingOrder, "type" | "side" | "amount">): WorkingOrder => ({
  symbol: "BTC/USDT",
  ...o,
});

describe("fees", () => {
  it("charges the rate on the notional in the quote currency", () => {
    expect(quoteCurrency("BTC/USDT")).toBe("USDT");
    expect(quoteCurrency("ETH/USDC:USDC")).toBe("USDC");
    const fee = feeOf("BTC/USDT", 100, 2, "taker", fees);
    expect(fee.currency).toBe("USDT");
    close(fee.cost, 0.4);
    close(allInPrice("buy", 100, 0.001), 100.1);
    close(allInPrice("sell", 100, 0.001), 99.9);
  });
});

describe("book model", () => {
  it("walks the asks for a market buy, partial per level, taker fees", () => {
    const r = fillAgainstBook(order({ type: "market", side: "buy", amount: 2.5 }), book, opts());
    expect(r.fills.map((f) => [f.price, f.amount])).toEqual([
      [101, 1],
      [102, 1.5],
    ]);
    expect(r.remaining).toBe(0);
    close(r.averagePrice ?? 0, (101 + 102 * 1.5) / 2.5);
    close(r.fills[1]?.fee.cost ?? 0, 102 * 1.5 * 0.002);
    expect(r.fills.every((f) => f.liquidity === "taker")).toBe(true);
  });

  it("leaves the rest of a market order unfilled when depth runs out", () => {
    const r = fillAgainstBook(order({ type: "market", side: "sell", amount: 10 }), book, opts());
    close(r.filled, 8);
    close(r.remaining, 2);
    expect(r.exhausted).toBe(true);
  });

  it("applies slippage against the order on taker fills", () => {
    const r = fillAgainstBook(
      order({ type: "market", side: "sell", amount: 1 }),
      book,
      opts({ slippageBps: 10 }),
    );
    close(r.fills[0]?.price ?? 0, 99 * (1 - 0.001));
  });

  it("fills the marketable part of a limit on arrival, then rests and fills as maker at its price", () => {
    const o = order({ type: "limit", side: "buy", amount: 4, price: 102 });
    const r = fillAgainstBook(o, book, opts());
    expect(r.fills.map((f) => [f.price, f.amount, f.liquidity])).toEqual([
      [101, 1, "taker"],
      [102, 2, "taker"],
    ]);
    close(r.remaining, 1);
    const resting = applyOutcome(o, r);
    const none = fillAgainstBook(resting, book, opts({ phase: "resting" }));
    // asks at 101/102 still cross 102 in this snapshot: up to 3 crossing, 1 remaining → fills 1 at 102 maker
    expect(none.fills.map((f) => [f.price, f.amount, f.liquidity])).toEqual([[102, 1, "maker"]]);
    close(none.fills[0]?.fee.cost ?? 0, 102 * 0.001);
    const away = fillAgainstBook(resting, { bids: book.bids, asks: [[105, 3]] }, opts({ phase: "resting" }));
    expect(away.fills).toEqual([]);
  });

  it("triggers a buy stop when the ask reaches it, then fills as a market order", () => {
    const o = order({ type: "stop", side: "buy", amount: 1, stopPrice: 101.5 });
    const idle = fillAgainstBook(o, book, opts());
    expect(idle.triggered).toBe(false);
    expect(idle.fills).toEqual([]);
    const r = fillAgainstBook(o, { bids: book.bids, asks: [[101.6, 5]] }, opts());
    expect(r.triggered).toBe(true);
    expect(r.fills.map((f) => [f.price, f.amount])).toEqual([[101.6, 1]]);
  });

  it("sell stop_limit triggers on the bid and fills only down to its limit", () => {
    const o = order({ type: "stop_limit", side: "sell", amount: 5, stopPrice: 99, price: 98 });
    const r = fillAgainstBook(o, book, opts());
    expect(r.triggered).toBe(true);
    expect(r.fills.map((f) => [f.price, f.amount])).toEqual([
      [99, 1],
      [98, 2],
    ]);
    close(r.remaining, 2);
  });
});

describe("candle model", () => {
  const bar = { open: 100, high: 110, low: 90, close: 105, volume: 50 };

  it("fills a market order at the open plus slippage", () => {
    const r = fillAgainstCandle(
      order({ type: "market", side: "buy", amount: 2 }),
      bar,
      opts({ slippageBps: 5 }),
    );
    close(r.fills[0]?.price ?? 0, 100.05);
    close(r.fills[0]?.fee.cost ?? 0, 100.05 * 2 * 0.002);
  });

  it("fills a limit buy at its price as maker when the low reaches it", () => {
    const o = order({ type: "limit", side: "buy", amount: 1, price: 95 });
    const r = fillAgainstCandle(o, bar, opts());
    expect(r.fills.map((f) => [f.price, f.liquidity])).toEqual([[95, "maker"]]);
    expect(fillAgainstCandle(order({ ...o, price: 89 }), bar, opts()).fills).toEqual([]);
    expect(fillAgainstCandle(order({ ...o, price: 90 }), bar, opts()).fills).toHaveLength(1);
    expect(
      fillAgainstCandle(order({ ...o, price: 90 }), bar, opts({ limitRequiresTradeThrough: true })).fills,
    ).toEqual([]);
  });

  it("fills a limit that is marketable at the open at the open as taker", () => {
    const r = fillAgainstCandle(order({ type: "limit", side: "sell", amount: 1, price: 97 }), bar, opts());
    expect(r.fills.map((f) => [f.price, f.liquidity])).toEqual([[100, "taker"]]);
  });

  it("triggers a sell stop through the low, and a gap fills at the open", () => {
    const r = fillAgainstCandle(order({ type: "stop", side: "sell", amount: 1, stopPrice: 92 }), bar, opts());
    expect(r.fills.map((f) => f.price)).toEqual([92]);
    const gap = fillAgainstCandle(
      order({ type: "stop", side: "sell", amount: 1, stopPrice: 102 }),
      bar,
      opts(),
    );
    expect(gap.fills.map((f) => f.price)).toEqual([100]);
    const idle = fillAgainstCandle(
      order({ type: "stop", side: "sell", amount: 1, stopPrice: 85 }),
      bar,
      opts(),
    );
    expect(idle.triggered).toBe(false);
  });

  it("a stop_limit not marketable at its trigger rests as a triggered limit for the next bar", () => {
    const o = order({ type: "stop_limit", side: "buy", amount: 1, stopPrice: 105, price: 104 });
    const r = fillAgainstCandle(o, bar, opts());
    expect(r.fills).toEqual([]);
    expect(r.triggered).toBe(true);
    const next = fillAgainstCandle(
      applyOutcome(o, r),
      { open: 106, high: 107, low: 103, close: 104, volume: 1 },
      opts(),
    );
    expect(next.fills.map((f) => [f.price, f.liquidity])).toEqual([[104, "maker"]]);
    const m = fillAgainstCandle(order({ ...o, price: 106 }), bar, opts({ slippageBps: 100 }));
    expect(m.fills.map((f) => f.price)).toEqual([106]); // 105 × 1.01 = 106.05 capped at the limit
  });

  it("caps a bar's fill at a fraction of its volume", () => {
    const r = fillAgainstCandle(
      order({ type: "market", side: "buy", amount: 10 }),
      bar,
      opts({ maxVolumeFraction: 0.1 }),
    );
    close(r.filled, 5);
    close(r.remaining, 5);
  });
});
