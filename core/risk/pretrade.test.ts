import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { riskMetrics } from "./metrics.ts";
import { normalQuantile } from "./normal.ts";
import { preTradeCheck } from "./pretrade.ts";
import { defaultLimits, type RiskLimits, RiskSnapshot } from "./snapshot.ts";

const BTC = "BTC/USDT";
const ETH = "ETH/USDT";
const SOL = "SOL/USDT";

/** A 100,000 USDT account, flat, with marks, vols and a correlation matrix for three symbols. */
function snapshot(over: Partial<RiskSnapshot> = {}, limits: Partial<RiskLimits> = {}): RiskSnapshot {
  return RiskSnapshot.parse({
    account: "default",
    equity: 100_000,
    peakEquity: 100_000,
    positions: {},
    marks: { [BTC]: 50_000, [ETH]: 3_000, [SOL]: 100 },
    volatility: { [BTC]: 0.03, [ETH]: 0.04, [SOL]: 0.06 },
    symbols: [BTC, ETH, SOL],
    correlation: [
      [1, 0.8, 0.3],
      [0.8, 1, 0.2],
      [0.3, 0.2, 1],
    ],
    limits: { ...defaultLimits, ...limits },
    updatedAt: 1,
    ...over,
  });
}

describe("preTradeCheck", () => {
  it("approves an order within every limit and reports post-trade figures", () => {
    const r = preTradeCheck({ symbol: BTC, side: "buy", amount: 0.02 }, snapshot());
    expect(r.approved).toBe(true);
    expect(r.reasons).toEqual([]);
    expect(r.price).toBe(50_000);
    expect(r.position_fraction).toBeCloseTo(0.01, 15);
    expect(r.leverage).toBeCloseTo(0.01, 15);
    // VaR = z₉₉ · 0.01 · 0.03 (one position).
    expect(r.portfolio_risk).toBeCloseTo(normalQuantile(0.99) * 0.01 * 0.03, 14);
  });

  it("rejects a position above MAX_POSITION_SIZE with the value and the limit", () => {
    const r = preTradeCheck({ symbol: BTC, side: "buy", amount: 0.05 }, snapshot());
    expect(r.approved).toBe(false);
    expect(r.reasons).toHaveLength(1);
    expect(r.reasons[0]).toMatchObject({ check: "maxPositionSize", limit: 0.02 });
    expect(r.reasons[0]?.value).toBeCloseTo(0.025, 15);
    expect(r.reasons[0]?.message).toMatch(
      /BTC\/USDT position would be 2.50% of equity, above the 2.00% limit/,
    );
  });

  it("rejects leverage above MAX_LEVERAGE", () => {
    // Existing book: 2.95x gross spread over many small positions; the order adds 0.1x.
    const positions: Record<string, { amount: number; mark: number }> = {};
    for (let i = 0; i < 59; i++) positions[`C${i}/USDT`] = { amount: 50, mark: 100 }; // 59 × 5,000 = 295,000
    const s = snapshot({ positions }, { maxPositionSize: 1, maxPortfolioRisk: 1 });
    const r = preTradeCheck({ symbol: SOL, side: "buy", amount: 100 }, s); // +10,000
    expect(r.approved).toBe(false);
    expect(r.reasons.map((x) => x.check)).toContain("maxLeverage");
    const lev = r.reasons.find((x) => x.check === "maxLeverage");
    expect(lev?.value).toBeCloseTo(3.05, 12);
    expect(lev?.limit).toBe(3);
  });

  it("rejects portfolio VaR above MAX_PORTFOLIO_RISK (independently computed z·√(vᵀCv))", () => {
    const s = snapshot(
      { positions: { [ETH]: { amount: 10, mark: 3_000 } } },
      { maxPositionSize: 1, maxPortfolioRisk: 0.02, maxCorrelation: 1 },
    );
    const r = preTradeCheck({ symbol: BTC, side: "buy", amount: 0.5 }, s);
    const vb = 0.25 * 0.03;
    const ve = 0.3 * 0.04;
    const expected = normalQuantile(0.99) * Math.sqrt(vb * vb + ve * ve + 2 * 0.8 * vb * ve);
    expect(r.portfolio_risk).toBeCloseTo(expected, 14);
    expect(r.approved).toBe(false);
    expect(r.reasons).toEqual([
      expect.objectContaining({ check: "maxPortfolioRisk", limit: 0.02, value: r.portfolio_risk }),
    ]);
  });

  it("rejects adding to a symbol correlated above MAX_CORRELATION with an open position, but not a hedge", () => {
    const s = snapshot({ positions: { [ETH]: { amount: 1, mark: 3_000 } } });
    const same = preTradeCheck({ symbol: BTC, side: "buy", amount: 0.01 }, s);
    expect(same.approved).toBe(false);
    expect(same.reasons).toEqual([
      expect.objectContaining({ check: "maxCorrelation", value: 0.8, limit: 0.7, with: ETH }),
    ]);
    const hedge = preTradeCheck({ symbol: BTC, side: "sell", amount: 0.01 }, s);
    expect(hedge.approved).toBe(true);
    const lowCorrelation = preTradeCheck({ symbol: SOL, side: "buy", amount: 10 }, s);
    expect(lowCorrelation.approved).toBe(true);
  });

  it("the kill switch rejects everything, even a reducing order", () => {
    const s = snapshot({ positions: { [BTC]: { amount: 0.01, mark: 50_000 } } }, { killSwitch: true });
    for (const order of [
      { symbol: BTC, side: "sell" as const, amount: 0.01 },
      { symbol: SOL, side: "buy" as const, amount: 1 },
    ]) {
      const r = preTradeCheck(order, s);
      expect(r.approved).toBe(false);
      expect(r.reasons[0]).toMatchObject({ check: "killSwitch" });
    }
  });

  it("reports every reason at once", () => {
    const s = snapshot(
      { positions: { [ETH]: { amount: 10, mark: 3_000 } } },
      { killSwitch: true, maxPortfolioRisk: 0.01, maxLeverage: 1 },
    );
    const r = preTradeCheck({ symbol: BTC, side: "buy", amount: 2 }, s);
    expect(r.reasons.map((x) => x.check)).toEqual([
      "killSwitch",
      "maxPositionSize",
      "maxLeverage",
      "maxPortfolioRisk",
      "maxCorrelation",
    ]);
  });

  it("always lets an order that reduces an over-limit position through", () => {
    const s = snapshot({ positions: { [BTC]: { amount: 1, mark: 50_000 } } }); // 50 % of equity
    expect(preTradeCheck({ symbol: BTC, side: "sell", amount: 0.5 }, s).approved).toBe(true);
    // Flipping to a larger short is not a reduction.
    expect(preTradeCheck({ symbol: BTC, side: "sell", amount: 2.5 }, s).approved).toBe(false);
  });

  it("uses the order's price when the snapshot has no mark, and refuses when there is neither", () => {
    const s = snapshot();
    expect(preTradeCheck({ symbol: "XRP/USDT", side: "buy", amount: 1000, price: 0.5 }, s)).toMatchObject({
      approved: true,
      price: 0.5,
    });
    const none = preTradeCheck({ symbol: "XRP/USDT", side: "buy", amount: 1000 }, s);
    expect(none.approved).toBe(false);
    expect(none.reasons[0]).toMatchObject({ check: "price" });
  });

  it("refuses everything when equity is not positive", () => {
    const r = preTradeCheck({ symbol: BTC, side: "buy", amount: 0.001 }, snapshot({ equity: 0 }));
    expect(r.approved).toBe(false);
    expect(r.reasons[0]).toMatchObject({ check: "equity" });
  });

  it("its incremental VaR equals the full recomputation on the post-trade book (property, 1e-12)", () => {
    const sym = fc.constantFrom(BTC, ETH, SOL, "XRP/USDT");
    fc.assert(
      fc.property(
        fc.dictionary(sym, fc.double({ min: -2, max: 2, noNaN: true }), { maxKeys: 4 }),
        sym,
        fc.constantFrom("buy" as const, "sell" as const),
        fc.double({ min: 0.001, max: 2, noNaN: true }),
        (amounts, symbol, side, amount) => {
          const marks: Record<string, number> = { [BTC]: 50_000, [ETH]: 3_000, [SOL]: 100, "XRP/USDT": 0.5 };
          const positions = Object.fromEntries(
            Object.entries(amounts).map(([s, a]) => [
              s,
              { amount: a * (1000 / (marks[s] ?? 1)), mark: marks[s] ?? 1 },
            ]),
          );
          const pre = snapshot({ positions, marks });
          const r = preTradeCheck({ symbol, side, amount }, pre);
          const after = structuredClone(positions);
          const delta = side === "buy" ? amount : -amount;
          after[symbol] = { amount: (after[symbol]?.amount ?? 0) + delta, mark: marks[symbol] ?? 1 };
          const m = riskMetrics(snapshot({ positions: after, marks }));
          expect(Math.abs(r.portfolio_risk - m.portfolio.var)).toBeLessThan(1e-12);
          expect(Math.abs(r.leverage - m.grossLeverage)).toBeLessThan(1e-12);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("RiskSnapshot", () => {
  it("takes the seed's limits by default", () => {
    expect(defaultLimits).toMatchObject({
      maxPositionSize: 0.02,
      maxPortfolioRisk: 0.15,
      maxCorrelation: 0.7,
      maxLeverage: 3,
      killSwitch: false,
    });
  });

  it("refuses a correlation matrix that does not fit its symbols", () => {
    const bad = RiskSnapshot.safeParse({
      equity: 1,
      peakEquity: 1,
      symbols: [BTC, ETH],
      correlation: [
        [1, 0.5],
        [0.4, 1],
      ],
      updatedAt: 0,
    });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toMatch(/symmetric/);
    const ragged = RiskSnapshot.safeParse({
      equity: 1,
      peakEquity: 1,
      symbols: [BTC],
      correlation: [],
      updatedAt: 0,
    });
    expect(ragged.error?.issues[0]?.message).toMatch(/1 rows/);
  });
});
