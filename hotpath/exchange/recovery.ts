import { DeliverPolicy } from "@nats-io/jetstream";
import type { Bus } from "../../core/bus/bus.ts";
import { Candle } from "../../core/domain/market.ts";
import { Fill, Order, tradeEventType } from "../../core/domain/trading.ts";
import { streams, subjects } from "../../core/subjects.ts";
import type { Logger } from "../../core/telemetry/log.ts";

/**
 * What the exchange rebuilds its state from at start: every order and fill it published that EVENTS
 * still holds (a full replay of `events.trade.>` through an ordered consumer), and the last paper bar
 * of each symbol (MARKET, last message per subject). Orders are reduced to their latest state: the one
 * with the most filled, terminal over open, then the latest update — so an out-of-order redelivery
 * never moves an order back.
 */
export interface TradeHistory {
  orders: Order[];
  fills: Fill[];
  /** Messages read, and how long the replay took. */
  messages: number;
  ms: number;
}

const SOURCE = "exchange";
const TERMINAL = new Set(["filled", "canceled", "rejected", "expired"]);
const rank = (o: Order) => (TERMINAL.has(o.status) ? 2 : o.status === "submitted" ? 0 : 1);

/** True when `b` is a later state of the same order than `a`. */
export function isLater(a: Order, b: Order): boolean {
  if (b.filled !== a.filled) return b.filled > a.filled;
  if (rank(b) !== rank(a)) return rank(b) > rank(a);
  return b.updatedAt >= a.updatedAt;
}

export async function readTradeHistory(bus: Bus, logger: Logger): Promise<TradeHistory> {
  const started = performance.now();
  const orders = new Map<string, Order>();
  const fills = new Map<string, Fill>();
  const stream = streams.EVENTS.name;
  const info = await bus.jsm.streams.info(stream, { subjects_filter: subjects.trade.all });
  const held = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
  let messages = 0;
  let malformed = 0;
  if (held > 0) {
    const consumer = await bus.js.consumers.get(stream, {
      filter_subjects: subjects.trade.all,
      deliver_policy: DeliverPolicy.All,
    });
    const iter = await consumer.consume({ max_messages: 4_096 });
    for await (const m of iter) {
      messages++;
      try {
        const env = m.json<{ source?: string; type?: string; data?: unknown }>();
        if (env.source === SOURCE) {
          if (env.type === tradeEventType.fill) {
            const fill = Fill.parse(env.data);
            fills.set(fill.id, fill);
          } else if (typeof env.type === "string" && env.type.startsWith("order.")) {
            const order = Order.parse(env.data);
            const key = `${order.venue}|${order.clientOrderId}`;
            const prev = orders.get(key);
            if (prev === undefined || isLater(prev, order)) orders.set(key, order);
          }
        }
      } catch (err) {
        malformed++;
        if (malformed <= 5) logger.warn({ err, seq: m.seq }, "unreadable trade event skipped in recovery");
      }
      if (m.info.pending === 0) break;
    }
    await iter.close();
  }
  const ms = performance.now() - started;
  return { orders: [...orders.values()], fills: [...fills.values()], messages, ms };
}

/** The last candle MARKET holds for each paper symbol (undefined for symbols without one). */
export async function lastBars(
  bus: Bus,
  venue: string,
  symbols: readonly string[],
): Promise<Map<string, Candle>> {
  const out = new Map<string, Candle>();
  for (const symbol of symbols) {
    try {
      const m = await bus.jsm.streams.getMessage(streams.MARKET.name, {
        last_by_subj: subjects.market.of(venue, "candle", symbol),
      });
      if (m === null) continue;
      const parsed = Candle.safeParse(m.json<{ data?: unknown }>().data);
      if (parsed.success) out.set(symbol, parsed.data);
    } catch {
      // no bar for this symbol yet
    }
  }
  return out;
}
