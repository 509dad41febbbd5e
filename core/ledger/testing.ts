import type { Fill, Order } from "../domain/trading.ts";
import type { LedgerEvent } from "./model.ts";

/** Builders for the ledger's tests and bench: fills, orders and the hand-worked scenario. */

const DAY = 86_400_000;
/** Monday 2026-03-02 00:00 UTC. */
export const DAY1 = Date.UTC(2026, 2, 2);
export const at = (day: number, hour: number) => DAY1 + (day - 1) * DAY + hour * 3_600_000;

export function fill(
  id: string,
  f: Pick<Fill, "symbol" | "side" | "amount" | "price" | "timestamp"> & {
    fee: [number, string];
    strategyId?: string;
    account?: string;
    venue?: string;
  },
): Fill {
  return {
    id,
    orderId: `o-${id}`,
    clientOrderId: `c-${id}`,
    account: f.account ?? "default",
    venue: f.venue ?? "paper",
    symbol: f.symbol,
    side: f.side,
    amount: f.amount,
    price: f.price,
    fee: { cost: f.fee[0], currency: f.fee[1] },
    liquidity: "taker",
    timestamp: f.timestamp,
    ...(f.strategyId !== undefined ? { strategyId: f.strategyId } : {}),
  };
}

let seq = 0;
export const resetSeq = () => {
  seq = 0;
};

export function fillEvent(f: Fill, id = `ev-${f.id}`): LedgerEvent {
  seq++;
  return { kind: "fill", id, seq, type: "fill.executed", time: f.timestamp, data: f };
}

export function orderEvent(o: Order, id = `ev-${o.id}-${o.status}`): LedgerEvent {
  seq++;
  return { kind: "order", id, seq, type: `order.${o.status}`, time: o.updatedAt, data: o };
}

/** The order a fill belongs to, in a given state. */
export function orderOf(f: Fill, status: Order["status"], updatedAt: number): Order {
  return {
    id: f.orderId,
    clientOrderId: f.clientOrderId,
    account: f.account,
    venue: f.venue,
    symbol: f.symbol,
    side: f.side,
    type: "market",
    amount: f.amount,
    status,
    filled: status === "filled" ? f.amount : 0,
    remaining: status === "filled" ? 0 : f.amount,
    ...(status === "filled" ? { averagePrice: f.price, fee: f.fee } : {}),
    createdAt: f.timestamp,
    updatedAt,
    ...(f.strategyId !== undefined ? { strategyId: f.strategyId } : {}),
  };
}

/**
 * The hand-worked scenario (values in projection.test.ts):
 * ETH/USDT, strategy s1: buy 1 @ 3000 (fee 0.001 ETH), sell 0.5 @ 3100 (fee 1.55 USDT),
 * buy 0.5 @ 3050 (fee 0.0005 ETH), sell 0.9985 @ 3020 (fee 3.01547 USDT) — a winner;
 * BTC/USDT, strategy s2: buy 0.1 @ 40000 (fee 4 USDT), sell 0.1 @ 39000 (fee 3.9 USDT) — a loser.
 */
export const scenarioFills = {
  f1: fill("f1", {
    symbol: "ETH/USDT",
    side: "buy",
    amount: 1,
    price: 3000,
    fee: [0.001, "ETH"],
    strategyId: "s1",
    timestamp: at(1, 10),
  }),
  g1: fill("g1", {
    symbol: "BTC/USDT",
    side: "buy",
    amount: 0.1,
    price: 40000,
    fee: [4, "USDT"],
    strategyId: "s2",
    timestamp: at(1, 11),
  }),
  f2: fill("f2", {
    symbol: "ETH/USDT",
    side: "sell",
    amount: 0.5,
    price: 3100,
    fee: [1.55, "USDT"],
    strategyId: "s1",
    timestamp: at(1, 12),
  }),
  f3: fill("f3", {
    symbol: "ETH/USDT",
    side: "buy",
    amount: 0.5,
    price: 3050,
    fee: [0.0005, "ETH"],
    strategyId: "s1",
    timestamp: at(2, 10),
  }),
  f4: fill("f4", {
    symbol: "ETH/USDT",
    side: "sell",
    amount: 0.9985,
    price: 3020,
    fee: [3.01547, "USDT"],
    strategyId: "s1",
    timestamp: at(2, 12),
  }),
  g2: fill("g2", {
    symbol: "BTC/USDT",
    side: "sell",
    amount: 0.1,
    price: 39000,
    fee: [3.9, "USDT"],
    strategyId: "s2",
    timestamp: at(3, 11),
  }),
} as const;

/** The scenario's events in time order, each fill preceded by its order's `accepted` and followed by `filled`. */
export function scenarioEvents(): LedgerEvent[] {
  resetSeq();
  const s = scenarioFills;
  const out: LedgerEvent[] = [];
  for (const f of [s.f1, s.g1, s.f2, s.f3, s.f4, s.g2]) {
    out.push(orderEvent(orderOf(f, "accepted", f.timestamp)));
    out.push(fillEvent(f));
    out.push(orderEvent(orderOf(f, "filled", f.timestamp)));
  }
  return out;
}
