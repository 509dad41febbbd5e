import { describe, expect, it } from "vitest";
import type { Fill } from "../domain/trading.ts";
import { applyFill, PositionLedger, unrealizedPnl } from "./accounting.ts";

const fill = (
  id: string,
  side: "buy" | "sell",
  amount: number,
  price: number,
  fee: number,
  ccy = "USDT",
): Fill => ({
  id,
  orderId: "o",
  clientOrderId: "c",
  account: "default",
  venue: "paper",
  symbol: "BTC/USDT",
  side,
  amount,
  price,
  fee: { currency: ccy, cost: fee },
  liquidity: "taker",
  timestamp: 1,
});

describe("fee-aware position accounting", () => {
  it("realises PnL after fees with average cost, and moves cash by notional and fee (hand-computed)", () => {
    const ledger = new PositionLedger({ initialCash: 10_000 });
    ledger.apply(fill("1", "buy", 1, 100, 0.1));
    ledger.apply(fill("2", "buy", 1, 110, 0.11));
    const p = ledger.apply(fill("3", "sell", 0.5, 120, 0.06));
    // average 105; realised 0.5·(120 − 105) = 7.5, minus fees 0.1 + 0.11 + 0.06 = 0.27 → 7.23.
    expect(p?.averagePrice).toBeCloseTo(105, 12);
    expect(p?.realizedPnl).toBeCloseTo(7.23, 12);
    expect(p?.fees).toBeCloseTo(0.27, 12);
    expect(p?.amount).toBeCloseTo(1.5, 12);
    // cash 10,000 − 100.1 − 110.11 + 59.94 = 9,849.73
    expect(ledger.cashOf("default")).toBeCloseTo(9_849.73, 9);
    expect(unrealizedPnl(p as NonNullable<typeof p>, 130)).toBeCloseTo(1.5 * 25, 12);
    expect(ledger.apply(fill("3", "sell", 0.5, 120, 0.06))).toBeUndefined();
  });

  it("crosses zero: realises the old position and opens the rest at the fill price", () => {
    const a = applyFill(undefined, fill("1", "buy", 1, 100, 0));
    const b = applyFill(a, fill("2", "sell", 3, 90, 0));
    expect(b.realizedPnl).toBeCloseTo(-10, 12);
    expect(b.amount).toBeCloseTo(-2, 12);
    expect(b.averagePrice).toBe(90);
  });

  it("takes a base-currency fee from the amount held", () => {
    const a = applyFill(undefined, fill("1", "buy", 1, 100, 0.001, "BTC"));
    expect(a.amount).toBeCloseTo(0.999, 12);
    expect(a.realizedPnl).toBe(0);
    expect(a.fees).toBeCloseTo(0.1, 12);
  });
});
