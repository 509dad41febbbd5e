import { describe, expect, it } from "vitest";
import type { Fill } from "../domain/trading.ts";
import { RiskBook } from "./book.ts";
import { ReturnWindows } from "./estimator.ts";
import { defaultLimits } from "./snapshot.ts";

const none = { volatility: {}, symbols: [], correlation: [] };
const fill = (over: Partial<Fill>): Fill => ({
  id: "f1",
  orderId: "o1",
  clientOrderId: "c1",
  account: "default",
  venue: "paper",
  symbol: "BTC/USDT",
  side: "buy",
  amount: 0.1,
  price: 50_000,
  fee: { currency: "USDT", cost: 5 },
  liquidity: "taker",
  timestamp: 1,
  ...over,
});

describe("RiskBook", () => {
  it("moves cash and position on a fill, once per fill id, and marks equity to market", () => {
    const book = new RiskBook({ initialEquity: 10_000 });
    expect(book.applyFill(fill({}))).toBe(true);
    expect(book.applyFill(fill({}))).toBe(false); // redelivered
    // cash 10,000 − 5,000 − 5 fee; position 0.1 BTC at 50,000 → equity 9,995.
    expect(book.equity("default")).toBeCloseTo(9_995, 9);
    book.applyPrice("BTC/USDT", 60_000);
    expect(book.equity("default")).toBeCloseTo(10_995, 9);
    book.applyPrice("BTC/USDT", 40_000);
    const s = book.snapshot("default", defaultLimits, none, 5);
    expect(s.equity).toBeCloseTo(8_995, 9);
    expect(s.peakEquity).toBeCloseTo(10_995, 9);
    expect(s.positions).toEqual({ "BTC/USDT": { amount: 0.1, mark: 40_000 } });
  });

  it("takes a base-currency fee from the position and sums venues per symbol", () => {
    const book = new RiskBook({ initialEquity: 10_000 });
    book.applyFill(fill({ fee: { currency: "BTC", cost: 0.001 } }));
    book.applyFill(
      fill({ id: "f2", venue: "binance", side: "sell", amount: 0.3, fee: { currency: "USDT", cost: 0 } }),
    );
    const s = book.snapshot("default", defaultLimits, none, 1);
    expect(s.positions["BTC/USDT"]?.amount).toBeCloseTo(0.099 - 0.3, 12);
  });

  it("position.changed seeds a position without fills and never overrides one built from fills", () => {
    const book = new RiskBook({ initialEquity: 10_000 });
    book.applyFill(fill({}));
    const p = {
      account: "default",
      venue: "paper",
      symbol: "BTC/USDT",
      amount: 0.25,
      averagePrice: 50_000,
      realizedPnl: 0,
      timestamp: 2,
    };
    expect(book.applyPosition(p)).toBe(false);
    expect(book.snapshot("default", defaultLimits, none, 1).positions["BTC/USDT"]?.amount).toBe(0.1);
    expect(book.applyPosition({ ...p, venue: "binance" })).toBe(true);
    expect(book.applyPosition({ ...p, venue: "binance" })).toBe(false);
    expect(book.snapshot("default", defaultLimits, none, 1).positions["BTC/USDT"]?.amount).toBeCloseTo(
      0.35,
      12,
    );
  });

  it("keeps the newest mark when prices arrive out of order", () => {
    const book = new RiskBook({ initialEquity: 1 });
    expect(book.applyPrice("A/USDT", 10, 2_000)).toBe(true);
    expect(book.applyPrice("A/USDT", 9, 1_000)).toBe(false);
    expect(book.mark("A/USDT")).toBe(10);
  });
});

describe("ReturnWindows", () => {
  const minute = 60_000;

  it("estimates daily volatility as the per-bar sd × √(bars per day)", () => {
    const w = new ReturnWindows(minute, 100, 4);
    const closes = [100, 101, 99, 102, 100, 103];
    closes.forEach((c, i) => {
      w.addClose("A/USDT", i * minute, c);
    });
    const r = closes.slice(1).map((c, i) => c / (closes[i] as number) - 1);
    const m = r.reduce((a, b) => a + b, 0) / r.length;
    const sd = Math.sqrt(r.reduce((a, b) => a + (b - m) ** 2, 0) / (r.length - 1));
    expect(w.volatility("A/USDT")).toBeCloseTo(sd * Math.sqrt(1440), 12);
  });

  it("replaces a re-published bar, ignores an older one and restarts after a gap", () => {
    const w = new ReturnWindows(minute, 100, 2);
    w.addClose("A/USDT", 0, 100);
    w.addClose("A/USDT", minute, 110);
    w.addClose("A/USDT", minute, 105); // same bar again, new close
    expect(w.returns("A/USDT").r[0]).toBeCloseTo(0.05, 12);
    expect(w.addClose("A/USDT", 0, 1)).toBe(false);
    w.addClose("A/USDT", 5 * minute, 200); // gap: no return
    expect(w.returns("A/USDT").r).toHaveLength(1);
  });

  it("correlates aligned returns: a series and its double are perfectly correlated, its negative −1", () => {
    const w = new ReturnWindows(minute, 100, 5);
    let a = 100;
    for (let i = 0; i < 30; i++) {
      const r = Math.sin(i * 1.7) / 100;
      w.addClose("A/USDT", i * minute, a);
      w.addClose("B/USDT", i * minute, 50 * (a / 100) ** 1); // same returns
      w.addClose("C/USDT", i * minute, 200 - a); // roughly opposite moves
      a *= 1 + r;
    }
    w.addClose("D/USDT", 0, 1); // too short: not in the matrix
    const e = w.estimates();
    expect(e.symbols).toEqual(["A/USDT", "B/USDT", "C/USDT"]);
    expect(e.correlation[0]?.[1]).toBeCloseTo(1, 12);
    expect(e.correlation[0]?.[2]).toBeLessThan(-0.99);
    expect(e.volatility["D/USDT"]).toBeUndefined();
  });

  it("leaves out of the matrix a symbol whose bars never overlap the others', keeping its volatility", () => {
    const w = new ReturnWindows(minute, 100, 5);
    for (let i = 0; i < 12; i++) {
      const c = 100 * (1 + Math.sin(i) / 100);
      w.addClose("A/USDT", i * minute, c);
      w.addClose("B/USDT", i * minute, c * 2);
      w.addClose("C/USDT", (100 + i) * minute, c); // a later, disjoint window
    }
    const e = w.estimates();
    expect(e.symbols).toEqual(["A/USDT", "B/USDT"]);
    expect(e.volatility["C/USDT"]).toBeGreaterThan(0);
  });
});
