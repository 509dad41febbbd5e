import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { roundToTick } from "../market/tick.ts";
import type { Order } from "./trading.ts";
import { type OrderWire, orderFromWire, orderToWire, type Precision } from "./wire.ts";

/**
 * The order mappings against a reference written the plain way (each optional key spread in): the
 * same objects, key order included (JSON text compared), for any mix of optional fields.
 */
const clean = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(12)) : x);
const onTick = (x: number, tick: number | undefined) =>
  tick === undefined ? clean(x) : roundToTick(x, tick);

function referenceToWire(o: Order, p: Precision): OrderWire {
  return {
    id: o.id,
    client_order_id: o.clientOrderId,
    account: o.account,
    venue: o.venue,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    amount: onTick(o.amount, p.stepSize),
    ...(o.price !== undefined ? { price: onTick(o.price, p.tickSize) } : {}),
    ...(o.stopPrice !== undefined ? { stop_price: onTick(o.stopPrice, p.tickSize) } : {}),
    ...(o.strategyId !== undefined ? { strategy_id: o.strategyId } : {}),
    status: o.status,
    filled: o.filled,
    remaining: o.remaining,
    ...(o.averagePrice !== undefined ? { average_price: o.averagePrice } : {}),
    ...(o.fee !== undefined ? { fee: o.fee } : {}),
    ...(o.reason !== undefined ? { reason: o.reason } : {}),
    created_at: o.createdAt,
    updated_at: o.updatedAt,
  };
}

const num = fc.double({ min: 1e-9, max: 1e6, noNaN: true });
const order = fc
  .record(
    {
      id: fc.string({ minLength: 1 }),
      clientOrderId: fc.string({ minLength: 1 }),
      account: fc.constantFrom("default", "a-1"),
      venue: fc.constantFrom("paper", "binance"),
      symbol: fc.constantFrom("BTC/USDT", "ETH/USDT"),
      side: fc.constantFrom("buy" as const, "sell" as const),
      type: fc.constantFrom("market" as const, "limit" as const, "stop" as const, "stop_limit" as const),
      amount: num,
      price: num,
      stopPrice: num,
      strategyId: fc.constantFrom("s1", "bench"),
      status: fc.constantFrom(
        "submitted" as const,
        "accepted" as const,
        "filled" as const,
        "rejected" as const,
      ),
      filled: num,
      remaining: num,
      averagePrice: num,
      fee: fc.record({ currency: fc.constant("USDT"), cost: num }),
      reason: fc.string(),
      createdAt: fc.nat(),
      updatedAt: fc.nat(),
    },
    {
      requiredKeys: ["id", "clientOrderId", "account", "venue", "symbol", "side", "type", "amount"],
      noNullPrototype: true,
    },
  )
  .map((o) => ({
    status: "accepted" as const,
    filled: 0,
    remaining: o.amount,
    createdAt: 1,
    updatedAt: 2,
    ...o,
  }));
const precision = fc.constantFrom<Precision>({}, { tickSize: 0.01, stepSize: 0.000001 }, { tickSize: 0.5 });

describe("order wire mapping", () => {
  it("maps to the wire and back like the plain reference, key order included", () => {
    fc.assert(
      fc.property(order, precision, (o, p) => {
        const wire = orderToWire(o, p);
        expect(JSON.stringify(wire)).toBe(JSON.stringify(referenceToWire(o, p)));
        const back = orderFromWire(referenceToWire(o, {}));
        // Back from the wire: the order's own keys in the order an Order is written in.
        expect(JSON.stringify(back)).toBe(
          JSON.stringify({
            id: o.id,
            clientOrderId: o.clientOrderId,
            account: o.account,
            venue: o.venue,
            symbol: o.symbol,
            side: o.side,
            type: o.type,
            amount: clean(o.amount),
            ...(o.price !== undefined ? { price: clean(o.price) } : {}),
            ...(o.stopPrice !== undefined ? { stopPrice: clean(o.stopPrice) } : {}),
            ...(o.strategyId !== undefined ? { strategyId: o.strategyId } : {}),
            status: o.status,
            filled: o.filled,
            remaining: o.remaining,
            ...(o.averagePrice !== undefined ? { averagePrice: o.averagePrice } : {}),
            ...(o.fee !== undefined ? { fee: o.fee } : {}),
            ...(o.reason !== undefined ? { reason: o.reason } : {}),
            createdAt: o.createdAt,
            updatedAt: o.updatedAt,
          }),
        );
      }),
      { numRuns: 5_000 },
    );
  });
});
