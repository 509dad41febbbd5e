import { describe, expect, it } from "vitest";
import type { PositionState, TradeRow } from "./model.ts";
import { projectBatch } from "./projection.ts";
import { profitReport } from "./reports.ts";
import type { ProfitGroup } from "../ports/ledger-store.ts";
import { at, fill, fillEvent, resetSeq, scenarioEvents, scenarioFills } from "./testing.ts";

/** Tolerances: toBeCloseTo(x, d) allows |error| < 10^−d / 2; the values are worked out by hand below. */

function run(events = scenarioEvents()) {
  const positions = new Map<string, PositionState>();
  const w = projectBatch(events, positions, new Set());
  const trades = new Map<string, TradeRow>(w.trades.map((t) => [t.id, t]));
  return { w, trades, positions };
}

describe("the ledger's projection on the hand-worked scenario", () => {
  /*
   * ETH/USDT (strategy s1), average cost, S = base held (net of base fees), B = its cost in quote:
   *  f1 buy 1 @ 3000, fee 0.001 ETH      S = 1 − 0.001 = 0.999, B = 3000
   *  f2 sell 0.5 @ 3100, fee 1.55 USDT    share r = 0.5 / 0.999; released = 3000 × 0.5 / 0.999 = 1501.5015015015015
   *                                       cash in = 0.5 × 3100 − 1.55 = 1548.45
   *                                       realised₁ = 1548.45 − 1501.5015015015015 = 46.9484984984985
   *                                       S = 0.499, B = 3000 − 1501.5015015015015 = 1498.4984984984985
   *  f3 buy 0.5 @ 3050, fee 0.0005 ETH    S = 0.499 + 0.4995 = 0.9985, B = 1498.4984984984985 + 1525 = 3023.4984984984985
   *  f4 sell 0.9985 @ 3020, fee 3.01547   cash in = 3015.47 − 3.01547 = 3012.45453 (fee = 0.1 % of 3015.47)
   *                                       realised₂ = 3012.45453 − 3023.4984984984985 = −11.0439684984985
   *  trade realised = 46.9484984984985 − 11.0439684984985 = 35.90453
   *  cross-check by cash flow: sells 1550 + 3015.47 − quote fees (1.55 + 3.01547) − buys (3000 + 1525) = 35.90453
   *  fees: quote 4.56547; base 0.0015 ETH, worth 0.001 × 3000 + 0.0005 × 3050 = 4.525 USDT
   * BTC/USDT (strategy s2): buy 0.1 @ 40000 (fee 4), sell 0.1 @ 39000 (fee 3.9):
   *  realised = 3900 − 3.9 − (4000 + 4) = −107.9
   * Both: realised −71.99547, 1 win and 1 loss (win rate 0.5), fees paid 4.56547 + 4.525 + 7.9 = 16.99047.
   * Today's position accounting would say 0.5 × (3100 − 3000) = 50 for f2, ignoring both fees.
   */
  it("books realised PnL after fees per fill and per trade", () => {
    const { w, trades } = run();
    const fills = new Map(w.fills.map((f) => [f.id, f]));
    expect(fills.get("f1")?.realized_pnl).toBe(0);
    expect(fills.get("f2")?.realized_pnl).toBeCloseTo(46.9484984984985, 8);
    expect(fills.get("f3")?.realized_pnl).toBe(0);
    expect(fills.get("f4")?.realized_pnl).toBeCloseTo(-11.0439684984985, 8);
    const eth = trades.get("f1");
    expect(eth).toMatchObject({
      status: "closed",
      side: "long",
      strategy_id: "s1",
      closing_fill_id: "f4",
      fills: 4,
    });
    expect(eth?.realized_pnl).toBeCloseTo(35.90453, 8);
    expect(eth?.fee_quote).toBeCloseTo(4.56547, 10);
    expect(eth?.fee_base).toBeCloseTo(0.0015, 12);
    expect(eth?.fee_base_quote).toBeCloseTo(4.525, 10);
    expect(eth?.entry_qty).toBeCloseTo(1.5, 12);
    expect(eth?.entry_notional).toBeCloseTo(4525, 9);
    expect(eth?.exit_qty).toBeCloseTo(1.4985, 12);
    expect(eth?.exit_notional).toBeCloseTo(4565.47, 9);
    const btc = trades.get("g1");
    expect(btc).toMatchObject({ status: "closed", strategy_id: "s2", fills: 2 });
    expect(btc?.realized_pnl).toBeCloseTo(-107.9, 9);
    expect(btc?.fee_quote).toBeCloseTo(7.9, 10);
    expect(w.orders.map((o) => o.status)).toEqual(Array(6).fill("filled"));
    expect(w.marks.find((m) => m.symbol === "ETH/USDT")?.price).toBe(3020);
  });

  it("keeps the open position's average cost, and the unrealised PnL at a mark leaves out the exit fee", () => {
    const e = scenarioEvents().filter((x) => x.kind === "fill" && x.data.id !== "f4" && x.data.id !== "g2");
    const { positions } = run(e);
    const eth = [...positions.values()].find((p) => p.position.symbol === "ETH/USDT");
    // S = 0.9985, B = 3023.4984984984985 (above); at 3020: 0.9985 × 3020 − B = 3015.47 − 3023.4984984984985
    expect(eth?.position.amount).toBeCloseTo(0.9985, 12);
    expect(eth?.position.cost).toBeCloseTo(3023.4984984984985, 8);
    expect(eth?.position.realized_pnl).toBeCloseTo(46.9484984984985, 8);
    const g = (p: PositionState): ProfitGroup => ({
      strategy_id: p.position.strategy_id,
      symbol: p.position.symbol,
      venue: p.position.venue,
      closed: 0,
      wins: 0,
      losses: 0,
      realized_pnl: p.position.realized_pnl,
      gross_profit: 0,
      gross_loss: 0,
      fee_quote: p.position.fee_quote,
      fee_base_quote: 0,
      entry_notional_closed: 0,
      open: 1,
      open_qty: p.position.amount,
      open_cost: p.position.cost,
    });
    const report = profitReport(
      [...positions.values()].map(g),
      new Map([
        ["paper\u0000ETH/USDT", 3020],
        ["paper\u0000BTC/USDT", 40000],
      ]),
    );
    // ETH −8.0284984984985; BTC 0.1 × 40000 − (4000 + 4) = −4
    expect(report.by_symbol.find((s) => s.symbol === "ETH/USDT")?.unrealized_pnl).toBeCloseTo(
      -8.0284984984985,
      8,
    );
    expect(report.total.unrealized_pnl).toBeCloseTo(-12.0284984984985, 8);
  });

  it("sums the scenario: realised, wins, losses, fees", () => {
    const { trades } = run();
    const closed = [...trades.values()];
    const groups: ProfitGroup[] = closed.map((t) => ({
      strategy_id: t.strategy_id,
      symbol: t.symbol,
      venue: t.venue,
      closed: 1,
      wins: t.realized_pnl > 0 ? 1 : 0,
      losses: t.realized_pnl < 0 ? 1 : 0,
      realized_pnl: t.realized_pnl,
      gross_profit: Math.max(0, t.realized_pnl),
      gross_loss: Math.max(0, -t.realized_pnl),
      fee_quote: t.fee_quote,
      fee_base_quote: t.fee_base_quote,
      entry_notional_closed: t.entry_notional,
      open: 0,
      open_qty: 0,
      open_cost: 0,
    }));
    const r = profitReport(groups, new Map()).total;
    expect(r.realized_pnl).toBeCloseTo(-71.99547, 8);
    expect(r.win_rate).toBe(0.5);
    expect(r.fees_paid).toBeCloseTo(16.99047, 8);
    // profit factor 35.90453 / 107.9
    expect(r.profit_factor).toBeCloseTo(35.90453 / 107.9, 10);
  });

  it("splits a fill that crosses zero: closes the short, opens a long with the rest", () => {
    resetSeq();
    /*
     * sell 1 @ 100 (fee 0.1 USDT): short, S = −1, B = −(100 − 0.1) = −99.9
     * buy 1.5 @ 90 (fee 0.135 USDT): 1/1.5 of it closes: cash = −90 − 0.09 = −90.09, realised = −90.09 + 99.9 = 9.81
     *   (check: 100 − 0.1 − 90 − 0.09 = 9.81); the rest opens a long: S = 0.5, B = 45 + 0.045 = 45.045
     */
    const events = [
      fillEvent(
        fill("s1", {
          symbol: "SOL/USDT",
          side: "sell",
          amount: 1,
          price: 100,
          fee: [0.1, "USDT"],
          timestamp: at(1, 1),
        }),
      ),
      fillEvent(
        fill("s2", {
          symbol: "SOL/USDT",
          side: "buy",
          amount: 1.5,
          price: 90,
          fee: [0.135, "USDT"],
          timestamp: at(1, 2),
        }),
      ),
    ];
    const { trades, positions } = run(events);
    expect(trades.get("s1")).toMatchObject({ side: "short", status: "closed", closing_fill_id: "s2" });
    expect(trades.get("s1")?.realized_pnl).toBeCloseTo(9.81, 10);
    const next = trades.get("s2:flip");
    expect(next).toMatchObject({ side: "long", status: "open" });
    expect(next?.open_qty).toBeCloseTo(0.5, 12);
    expect(next?.open_cost).toBeCloseTo(45.045, 10);
    expect([...positions.values()][0]?.position.open_trade_id).toBe("s2:flip");
  });

  it("changes nothing for a fill it already knows, and ignores fees in a third currency", () => {
    const f = scenarioFills.f1;
    resetSeq();
    const again = projectBatch([fillEvent(f, "other-event-id")], new Map(), new Set(["f1"]));
    expect(again.fills).toEqual([]);
    expect(again.trades).toEqual([]);
    resetSeq();
    const bnb = fill("b1", {
      symbol: "ETH/USDT",
      side: "buy",
      amount: 1,
      price: 3000,
      fee: [0.01, "BNB"],
      timestamp: at(1, 1),
    });
    const w = projectBatch([fillEvent(bnb)], new Map(), new Set());
    expect(w.fills[0]?.fee_kind).toBe("other");
    expect(w.trades[0]).toMatchObject({ open_qty: 1, open_cost: 3000, fee_quote: 0, fee_base: 0 });
  });
});
