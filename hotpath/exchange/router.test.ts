import { describe, expect, it } from "vitest";
import { planRoute } from "./router.ts";
import { PositionBook } from "./positions.ts";

// Tolerance: 1e-9 relative on prices computed by hand below.
const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-9 * Math.abs(b));

describe("smart order routing", () => {
  it("takes levels across venues by price after fees and splits by depth", () => {
    // A: ask 100.00 with 0.1 % fee → 100.10 all-in; B: ask 100.05 with 0.02 % → 100.07002 all-in (better).
    const plan = planRoute("buy", 3, [
      {
        venue: "a",
        takerFee: 0.001,
        book: {
          bids: [],
          asks: [
            [100, 2],
            [101, 5],
          ],
        },
      },
      {
        venue: "b",
        takerFee: 0.0002,
        book: {
          bids: [],
          asks: [
            [100.05, 1],
            [102, 5],
          ],
        },
      },
    ]);
    expect(plan.legs.map((l) => [l.venue, l.amount])).toEqual([
      ["a", 2],
      ["b", 1],
    ]);
    expect(plan.unfilled).toBe(0);
    close(plan.allInAveragePrice ?? 0, (2 * 100 * 1.001 + 100.05 * 1.0002) / 3);
    expect(plan.legs.find((l) => l.venue === "a")?.worstPrice).toBe(100);
  });

  it("sells to the best bids after fees, rounds legs down to the step and reports the rest", () => {
    const plan = planRoute("sell", 1.5, [
      { venue: "a", takerFee: 0.001, book: { bids: [[99, 0.75]], asks: [] }, stepSize: 0.5 },
      { venue: "b", takerFee: 0.001, book: { bids: [[98, 0.75]], asks: [] }, stepSize: 0.5 },
    ]);
    expect(plan.legs.map((l) => [l.venue, l.amount])).toEqual([
      ["a", 0.5],
      ["b", 0.5],
    ]);
    close(plan.unfilled, 0.5);
  });
});

describe("positions", () => {
  it("keeps average cost and realises PnL on reductions and flips", () => {
    const book = new PositionBook();
    const fill = (side: "buy" | "sell", amount: number, price: number) =>
      book.apply({
        id: `${side}${amount}${price}`,
        orderId: "o",
        clientOrderId: "c",
        account: "default",
        venue: "paper",
        symbol: "BTC/USDT",
        side,
        amount,
        price,
        fee: { currency: "USDT", cost: 0 },
        liquidity: "taker",
        timestamp: 1,
      });
    fill("buy", 1, 100);
    const p = fill("buy", 1, 110);
    close(p.averagePrice, 105);
    const r = fill("sell", 0.5, 120);
    close(r.realizedPnl, 7.5);
    close(r.averagePrice, 105);
    const flip = fill("sell", 2.5, 100);
    close(flip.realizedPnl, 7.5 + 1.5 * -5);
    expect(flip.amount).toBe(-1);
    expect(flip.averagePrice).toBe(100);
  });
});
