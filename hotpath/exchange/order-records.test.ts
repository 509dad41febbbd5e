import { describe, expect, it } from "vitest";
import type { Fill, Order } from "../../core/domain/trading.ts";
import { TradeFold } from "../../core/exchange-state/trade-fold.ts";
import { OrderRecords, recordKey } from "./order-records.ts";

/**
 * Records rebuilt from a history (OrderRecords.restore): each order once under its client order id
 * (and its venue id once acknowledged), its fills each id once, the set of fill ids always the ids of
 * its fills — also where that set is only built when first used (an order with one fill).
 */
const order = (cid: string, o: Partial<Order> = {}): Order => ({
  id: `v-${cid}`,
  clientOrderId: cid,
  account: "default",
  venue: "paper",
  symbol: "BTC/USDT",
  side: "buy",
  type: "market",
  amount: 0.3,
  status: "filled",
  filled: 0.3,
  remaining: 0,
  createdAt: 1,
  updatedAt: 2,
  ...o,
});
const fill = (cid: string, n: number, amount: number): Fill => ({
  id: `f-${cid}-${n}`,
  orderId: `v-${cid}`,
  clientOrderId: cid,
  account: "default",
  venue: "paper",
  symbol: "BTC/USDT",
  side: "buy",
  amount,
  price: 50_000,
  fee: { currency: "USDT", cost: 0.01 },
  liquidity: "taker",
  timestamp: 3,
});

const orders = [
  order("one"),
  order("two"),
  order("none", { status: "submitted", id: "none", filled: 0, remaining: 0.3 }),
  order("open", { status: "partially_filled", filled: 0.1, remaining: 0.2 }),
];
// "two" has one fill twice (a redelivery): it counts once.
const fills = [fill("one", 1, 0.3), fill("two", 1, 0.1), fill("two", 2, 0.2), fill("two", 1, 0.1)];
fills.push(fill("open", 1, 0.1));

const view = (records: OrderRecords) =>
  records.all().map((r) => ({
    cid: r.request.clientOrderId,
    known: r.known,
    fills: r.fills.map((f) => f.id),
    fillIds: [...r.fillIds].sort(),
    filledByFills: r.filledByFills,
    lastPublished: r.lastPublished,
  }));

describe("order records rebuilt from the history", () => {
  it("hold each order once with its fills, the fill ids being the ids of the fills", () => {
    const records = new OrderRecords();
    records.restore(orders, fills);
    expect(view(records)).toEqual([
      {
        cid: "one",
        known: true,
        fills: ["f-one-1"],
        fillIds: ["f-one-1"],
        filledByFills: 0.3,
        lastPublished: "filled:0.3",
      },
      {
        cid: "two",
        known: true,
        fills: ["f-two-1", "f-two-2"],
        fillIds: ["f-two-1", "f-two-2"],
        filledByFills: 0.1 + 0.2,
        lastPublished: "filled:0.3",
      },
      { cid: "none", known: false, fills: [], fillIds: [], filledByFills: 0, lastPublished: "submitted:0" },
      {
        cid: "open",
        known: true,
        fills: ["f-open-1"],
        fillIds: ["f-open-1"],
        filledByFills: 0.1,
        lastPublished: "partially_filled:0.1",
      },
    ]);
    expect(records.byVenue("paper", "v-two")?.request.clientOrderId).toBe("two");
    expect(records.byVenue("paper", "none")).toBeUndefined();
  });

  it("keep the fill ids in step with the fills after a fill is added to a restored record", () => {
    const records = new OrderRecords();
    records.restore(orders, fills);
    const rec = records.byClient("paper", "open");
    if (rec === undefined) throw new Error("no record");
    // As order-updates.ts ingests a new fill: checked against the ids, then added to both.
    const next = fill("open", 2, 0.2);
    expect(rec.fillIds.has(next.id)).toBe(false);
    expect(rec.fillIds.has("f-open-1")).toBe(true);
    rec.fillIds.add(next.id);
    rec.fills.push(next);
    expect([...rec.fillIds]).toEqual(rec.fills.map((f) => f.id));
  });

  it("rebuild the same records from the trade fold's map of orders (its keys reused) as from a list", () => {
    const fold = TradeFold.of(7, orders, fills);
    expect([...fold.orders.keys()]).toEqual(orders.map((o) => recordKey(o.venue, o.clientOrderId)));
    const fromMap = new OrderRecords();
    fromMap.restore(fold.orders, fills);
    const fromList = new OrderRecords();
    fromList.restore(orders, fills);
    expect(view(fromMap)).toEqual(view(fromList));
    expect(fromMap.byClient("paper", "two")?.order).toBe(orders[1]);
  });
});
