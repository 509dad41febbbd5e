import { describe, expect, it } from "vitest";
import type { Fill, Order } from "../domain/trading.ts";
import { type Columns, decodeColumns, encodeColumns, stringifyColumns } from "./columns.ts";

/** The snapshot's columnar encoding gives back exactly the records it was given, or says why it cannot. */
const order = (i: number, extra: Partial<Order> = {}): Order => ({
  id: `o-${i}`,
  clientOrderId: `c-${i}`,
  account: i % 3 === 0 ? "default" : "other",
  venue: "paper",
  symbol: "BTC/USDT",
  side: i % 2 === 0 ? "buy" : "sell",
  type: "limit",
  amount: 0.001 * (i + 1),
  price: 50_000 + i,
  status: "accepted",
  filled: 0,
  remaining: 0.001 * (i + 1),
  createdAt: 1_767_225_600_000 + i,
  updatedAt: 1_767_225_600_000 + i,
  ...extra,
});

const roundTrip = async <T extends object>(records: T[]): Promise<T[] | string> =>
  decodeColumns<T>(JSON.parse(await stringifyColumns(await encodeColumns(records))) as Columns);

describe("snapshot columns", () => {
  it("round-trips records with optional and nested fields, many distinct values and few", async () => {
    const orders: Order[] = [];
    for (let i = 0; i < 12_000; i++) {
      const extra: Partial<Order> =
        i % 7 === 0
          ? { status: "rejected", reason: `refused ${i}` }
          : i % 5 === 0
            ? {
                status: "filled",
                filled: 0.001 * (i + 1),
                remaining: 0,
                fee: { currency: "USDT", cost: i / 100 },
              }
            : {};
      orders.push(order(i, extra));
    }
    const back = await roundTrip(orders);
    expect(back).toStrictEqual(orders);
    const encoded = await encodeColumns(orders);
    // Few distinct values: a dictionary; one per record: plain.
    expect(Object.keys(encoded.cols.account ?? {})).toEqual(["d", "i"]);
    expect(Object.keys(encoded.cols.id ?? {})).toEqual(["v"]);
    expect(encoded.cols["fee.currency"]).toBeDefined();
  });

  it("round-trips fills, and nothing at all", async () => {
    const fill: Fill = {
      id: "paper:o-1:1",
      orderId: "o-1",
      clientOrderId: "c-1",
      account: "default",
      venue: "paper",
      symbol: "BTC/USDT",
      side: "buy",
      amount: 0.5,
      price: 50_000,
      fee: { currency: "BTC", cost: 0.0005 },
      liquidity: "maker",
      timestamp: 1_767_225_600_000,
      strategyId: "s-1",
    };
    const { strategyId: _, ...manual } = { ...fill, id: "paper:o-1:2" };
    expect(await roundTrip([fill, manual])).toStrictEqual([fill, manual]);
    expect(await roundTrip([])).toStrictEqual([]);
  });

  it("names what is wrong with malformed columns", () => {
    expect(decodeColumns({ n: 2, cols: { id: { v: ["a"] } } })).toBe(
      "column id holds 1 values for 2 records",
    );
    expect(decodeColumns({ n: 1, cols: { id: {} as { v: string[] } } })).toBe(
      "column id is neither plain nor dictionary-coded",
    );
    expect(decodeColumns({ n: -1, cols: {} })).toBe("not a column set");
  });
});
