import type { Bus } from "../../core/bus/bus.ts";
import type { Candle, OrderBook, Ticker } from "../../core/domain/market.ts";
import { marketEventType } from "../../core/domain/market.ts";
import { type Fill, type Order, type Position, tradeEventType } from "../../core/domain/trading.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { kvBuckets, type MarketKind, positionKeys, subjects } from "../../core/subjects.ts";
import type { Logger } from "../../core/telemetry/log.ts";

/**
 * Publishes the exchange's events to JetStream, each exactly once: every event carries a deterministic
 * id (below) used as its Nats-Msg-Id, so a republish inside the stream's duplicate window is dropped by
 * the server, and ids already published by this process are skipped before they reach the wire.
 *
 *   order     order:<venue>:<orderId>:<status>:<filled>   (pre-trade rejections: order:<venue>:<clientOrderId>:rejected:0)
 *   fill      fill:<fill id>                               (fill ids come from the venue's trade id)
 *   position  position:<venue>:<account>:<symbol>:<fill id>
 *   market    market:<venue>:<kind>:<symbol>:<timestamp or trade id>
 *
 * A position is also written to the positions KV bucket (`positionKeys.of(account, venue, symbol)`)
 * once its event is stored, so the bucket always holds the latest published position.
 *
 * Publishing never blocks the order path: events go into an ordered queue drained in the background,
 * retried with backoff on failure (the ids make retries safe). `flush()` waits for the queue.
 */
export interface Publisher {
  /** `correlationId`: the flow the order belongs to (the submitting tool call's); default the event id. */
  order(order: Order, correlationId?: string): void;
  fill(fill: Fill, correlationId?: string): void;
  position(position: Position, fillId: string, correlationId?: string): void;
  market(
    venue: string,
    kind: MarketKind,
    symbol: string,
    data: Candle | Ticker | OrderBook | unknown,
    key: number | string,
  ): void;
  /** An agent-scoped event (`events.exchange.<kind>`), e.g. stream.down. */
  notice(kind: string, type: string, data: unknown, id: string): void;
  flush(): Promise<void>;
  readonly pending: number;
  readonly published: number;
  readonly failures: number;
}

interface Item {
  id: string;
  type: string;
  subject: string;
  data: unknown;
  correlationId?: string;
  /** Also written to this key of the positions bucket once published. */
  positionKey?: string;
}

const SOURCE = "exchange";
const MAX_REMEMBERED = 100_000;

export function busPublisher(bus: Bus, logger: Logger): Publisher {
  const queue: Item[] = [];
  const seen = new Set<string>();
  let draining: Promise<void> | undefined;
  let published = 0;
  let failures = 0;

  const remember = (id: string) => {
    seen.add(id);
    if (seen.size > MAX_REMEMBERED) {
      const first = seen.values().next().value;
      if (first !== undefined) seen.delete(first);
    }
  };

  const enqueue = (item: Item) => {
    if (seen.has(item.id)) return;
    remember(item.id);
    queue.push(item);
    draining ??= drain().finally(() => {
      draining = undefined;
    });
  };

  async function drain(): Promise<void> {
    let attempt = 0;
    while (queue.length > 0) {
      const item = queue[0] as Item;
      try {
        const event = makeEvent({
          id: item.id,
          type: item.type,
          source: SOURCE,
          subject: item.subject,
          data: item.data,
          ...(item.correlationId !== undefined ? { correlationid: item.correlationId } : {}),
        });
        await bus.publishEvent(event, { msgID: item.id });
        if (item.positionKey !== undefined) {
          const kv = await bus.kv(kvBuckets.positions);
          await kv.put(item.positionKey, JSON.stringify(item.data));
        }
        queue.shift();
        published += 1;
        attempt = 0;
      } catch (err) {
        failures += 1;
        attempt += 1;
        if (!bus.connected && bus.nc.isClosed()) {
          logger.error({ err, pending: queue.length }, "bus closed; dropping unpublished exchange events");
          queue.length = 0;
          return;
        }
        const delay = Math.min(5_000, 50 * 2 ** attempt);
        logger.warn({ err, id: item.id, attempt, delay }, "publish failed; retrying");
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  return {
    order(order, correlationId) {
      const id = `order:${order.venue}:${order.id}:${order.status}:${order.filled}`;
      enqueue({
        id,
        type: tradeEventType.order(order.status),
        subject: subjects.trade.order(order.status),
        data: order,
        ...(correlationId !== undefined ? { correlationId } : {}),
      });
    },
    fill(fill, correlationId) {
      enqueue({
        id: `fill:${fill.id}`,
        type: tradeEventType.fill,
        subject: subjects.trade.fill,
        data: fill,
        ...(correlationId !== undefined ? { correlationId } : {}),
      });
    },
    position(position, fillId, correlationId) {
      enqueue({
        ...(correlationId !== undefined ? { correlationId } : {}),
        id: `position:${position.venue}:${position.account}:${position.symbol}:${fillId}`,
        type: tradeEventType.position,
        subject: subjects.trade.position,
        data: position,
        positionKey: positionKeys.of(position.account, position.venue, position.symbol),
      });
    },
    market(venue, kind, symbol, data, key) {
      enqueue({
        id: `market:${venue}:${kind}:${symbol}:${key}`,
        type: marketEventType[kind],
        subject: subjects.market.of(venue, kind, symbol),
        data,
      });
    },
    notice(kind, type, data, id) {
      enqueue({ id, type, subject: subjects.events.of(SOURCE, kind), data });
    },
    async flush() {
      while (draining !== undefined) await draining;
    },
    get pending() {
      return queue.length;
    },
    get published() {
      return published;
    },
    get failures() {
      return failures;
    },
  };
}
