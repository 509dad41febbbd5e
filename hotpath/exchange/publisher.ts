import type { Bus } from "../../adapters/nats/bus.ts";
import type { Candle, OrderBook, Ticker } from "../../core/domain/market.ts";
import { marketEventType } from "../../core/domain/market.ts";
import type { Fill, Order, Position } from "../../core/domain/trading.ts";
import { type EventSpec, events, messageId } from "../../core/events/catalogue.ts";
import { type EventEnvelope, eventJson, makeEvent } from "../../core/protocol/envelope.ts";
import { kvBuckets, type MarketKind, positionKeys, subjects } from "../../core/subjects.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import type { Journal } from "./journal.ts";
import { RecentIds } from "./recent-ids.ts";

/**
 * Publishes the exchange's events to JetStream. Every event carries a deterministic id (below) used as
 * its Nats-Msg-Id, so a republish inside the stream's duplicate window is stored once, and ids already
 * queued by this process are skipped before they reach the wire.
 *
 * built by `messageId` (core/events/catalogue.ts, `<type>:<part>…`):
 *
 *   order     order.<status>:<venue>:<orderId>:<filled>   (pre-trade rejections: order.rejected:<venue>:<clientOrderId>:0)
 *   fill      fill.executed:<fill id>                      (fill ids come from the venue's trade id)
 *   position  position.changed:<venue>:<account>:<symbol>:<fill id>
 *   market    <type>:<venue>:<symbol>:<timestamp or trade id>   (candle.closed, ticker.updated, …)
 *
 * Two lanes:
 * - **trade events** (orders, fills, positions) are durable: an ordered queue, published in windows of
 *   up to `window` events at once (pipelined on the one connection, so the stream stores them in queue
 *   order) and retried in order with backoff until JetStream acks each one. `durable()` resolves once
 *   every trade event queued so far is durably stored: the order manager answers a client only then.
 *   With a journal (journal.ts, the service's case) that is once they are appended to it — every
 *   event queued so far in one write (the group commit: at `durable()`, else at the end of the
 *   turn) — and JetStream stores them after;
 *   JetStream's acks are marked in the journal, which then compacts. Without one (tests, benches)
 *   it is once JetStream acked them, the acks of concurrent orders' events awaited together.
 * - **market data and notices** are best effort: published without waiting, dropped while the bus is
 *   down (a stale market is refreshed by the next bar; nothing is acknowledged on it).
 *
 * A position is also written to the positions KV bucket (`positionKeys.of(account, venue, symbol)`)
 * after its event is stored. No method throws: a key that cannot be built is logged and skipped.
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
  /** A best-effort event of the catalogue (stream.down), with the parts of its message id. */
  notice<T>(spec: EventSpec<T>, data: T, id: readonly (string | number)[]): void;
  /**
   * Resolves once every trade event queued so far is stored (in the journal, or in JetStream); rejects with
   * {@link NotDurable} after `timeoutMs` (the events stay queued and keep being retried).
   */
  durable(timeoutMs?: number): Promise<void>;
  /**
   * True when the bus is connected, the last attempt to store a trade event succeeded, and the
   * journal is within its bound.
   */
  readonly available: boolean;
  /** Waits for the trade queue to drain (shutdown), at most `timeoutMs`. */
  flush(timeoutMs?: number): Promise<void>;
  /** Trade events queued and not yet acked. */
  readonly pending: number;
  readonly published: number;
  readonly failures: number;
  /** Market events dropped while the bus was down. */
  readonly dropped: number;
  /** EVENTS stream sequence of the last acked trade event (0 before any). */
  readonly lastSeq: number;
}

/** The bus did not store an order's events in time; the events stay queued. */
export class NotDurable extends Error {
  override name = "NotDurable";
}

interface Spec {
  id: string;
  type: string;
  subject: string;
  data: unknown;
  correlationId?: string;
  /** Also written to this key of the positions bucket once published. */
  positionKey?: string;
}

interface Item {
  seq: number;
  id: string;
  event: EventEnvelope;
  /**
   * `JSON.stringify(event.data)`, made once when the event is queued: the journal's line holds it,
   * and JetStream's payload is the envelope around it (`eventJson`, made in the drain, after the answer).
   */
  data: string;
  positionKey?: string | undefined;
  /** Its journal seq, once appended to the journal. */
  j?: number;
}

/** What JetStream is sent of an item: `JSON.stringify(event)`, the data not serialised again. */
const payloadOf = (item: Item): string => eventJson(item.event, item.data);

export interface PublisherOptions {
  /** Trade events in flight at once (default 256). */
  window?: number;
  /** Default timeout of `durable()` in ms (default 5 000). */
  durableTimeoutMs?: number;
  /** The local journal: `durable()` then resolves once the events are appended to it. */
  journal?: Journal;
}

const SOURCE = "exchange";
const MAX_REMEMBERED = 200_000;
const MAX_MARKET_IN_FLIGHT = 5_000;

export function busPublisher(bus: Bus, logger: Logger, options: PublisherOptions = {}): Publisher {
  const window = options.window ?? 256;
  const defaultTimeout = options.durableTimeoutMs ?? 5_000;
  const queue: Item[] = [];
  const seen = new RecentIds(MAX_REMEMBERED);
  const waiters: { seq: number; resolve: () => void }[] = [];
  const lane = new JournalLane(options.journal, logger, () => wake());
  let enqueued = 0;
  let acked = 0;
  let lastSeq = 0;
  let scheduled = false;
  let draining: Promise<void> | undefined;
  let healthy = true;
  let published = 0;
  let failures = 0;
  let dropped = 0;
  let marketInFlight = 0;

  /** Every trade event up to this queue seq is stored: journaled (in queue order) or acked. */
  const stored = () => Math.max(lane.upTo, acked);

  const wake = () => {
    const upTo = stored();
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i] as (typeof waiters)[number];
      if (w.seq <= upTo) {
        waiters.splice(i, 1);
        w.resolve();
      }
    }
  };

  const schedule = () => {
    if (scheduled || draining !== undefined) return;
    scheduled = true;
    // After the current macrotask: every event the order path queues synchronously joins one window.
    setImmediate(() => {
      scheduled = false;
      draining ??= drain().finally(() => {
        draining = undefined;
        if (queue.length > 0) schedule();
      });
    });
  };

  const enqueue = (spec: Spec) => {
    if (seen.has(spec.id)) return;
    const event = eventOf(spec);
    const data = JSON.stringify(event.data) ?? "null";
    seen.add(spec.id);
    const item: Item = { seq: ++enqueued, id: spec.id, event, data, positionKey: spec.positionKey };
    queue.push(item);
    lane.add(item);
    schedule();
  };

  const eventOf = (item: Spec) =>
    makeEvent({
      id: item.id,
      type: item.type,
      source: SOURCE,
      subject: item.subject,
      data: item.data,
      ...(item.correlationId !== undefined ? { correlationid: item.correlationId } : {}),
    });

  async function drain(): Promise<void> {
    let attempt = 0;
    while (queue.length > 0) {
      if (bus.nc.isClosed()) {
        logger.error({ pending: queue.length }, "bus closed with trade events not stored");
        return;
      }
      lane.write();
      const batch = queue.slice(0, window);
      // Pipelined (one ack subscription, no request per event): all of the window stored, or none
      // counted; a failed window is sent again whole, and the stream's duplicate window drops the
      // events of it that were stored.
      let k = 0;
      let failure: unknown;
      try {
        const acks = await bus.publishEvents(
          batch.map((item) => item.event),
          batch.map(payloadOf),
        );
        for (const a of acks) if (a.seq > lastSeq) lastSeq = a.seq;
        k = batch.length;
      } catch (err) {
        failure = err;
      }
      const done = queue.splice(0, k);
      if (done.length > 0) {
        const last = done[done.length - 1] as Item;
        acked = last.seq;
        lane.acked(last, lastSeq);
        published += done.length;
        writePositions(done);
        wake();
      }
      if (k < batch.length) {
        failures += 1;
        attempt += 1;
        healthy = false;
        const err = failure;
        const delay = Math.min(2_000, 50 * 2 ** Math.min(attempt, 6));
        logger.warn(
          { err, id: batch[k]?.id, attempt, delay, pending: queue.length },
          "publish failed; retrying",
        );
        await new Promise((r) => setTimeout(r, delay));
      } else {
        attempt = 0;
        healthy = true;
      }
    }
  }

  function writePositions(items: Item[]): void {
    const puts = items.filter((i) => i.positionKey !== undefined);
    if (puts.length === 0) return;
    void (async () => {
      try {
        const kv = await bus.kv(kvBuckets.positions);
        await Promise.all(puts.map((i) => kv.put(i.positionKey as string, JSON.stringify(i.event.data))));
      } catch (err) {
        logger.warn({ err }, "positions KV not updated (the events are stored)");
      }
    })();
  }

  const best = (item: Spec) => {
    if (seen.has(item.id)) return;
    if (!bus.connected || marketInFlight >= MAX_MARKET_IN_FLIGHT) {
      dropped += 1;
      return;
    }
    seen.add(item.id);
    marketInFlight += 1;
    bus
      .publishEvent(eventOf(item), { msgID: item.id })
      .catch(() => {
        dropped += 1;
      })
      .finally(() => {
        marketInFlight -= 1;
      });
  };

  /** The queue item of one catalogue event: its type, its subject for this data, its message id. */
  const itemOf = <T>(
    spec: EventSpec<T>,
    data: T,
    id: readonly (string | number)[],
    correlationId?: string,
  ) => ({
    id: messageId(spec.type, ...id),
    type: spec.type,
    subject: spec.subject(data),
    data,
    ...(correlationId !== undefined ? { correlationId } : {}),
  });

  const safely = (what: string, build: () => void) => {
    try {
      build();
    } catch (err) {
      logger.error({ err, what }, "event not built");
    }
  };

  return {
    order(order, correlationId) {
      safely("order", () =>
        enqueue(
          itemOf(events.order[order.status], order, [order.venue, order.id, order.filled], correlationId),
        ),
      );
    },
    fill(fill, correlationId) {
      safely("fill", () => enqueue(itemOf(events.fill, fill, [fill.id], correlationId)));
    },
    position(position, fillId, correlationId) {
      let positionKey: string | undefined;
      try {
        positionKey = positionKeys.of(position.account, position.venue, position.symbol);
      } catch (err) {
        logger.error({ err, account: position.account }, "position not keyable; KV entry skipped");
      }
      safely("position", () =>
        enqueue({
          ...itemOf(
            events.position,
            position,
            [position.venue, position.account, position.symbol, fillId],
            correlationId,
          ),
          ...(positionKey !== undefined ? { positionKey } : {}),
        }),
      );
    },
    market(venue, kind, symbol, data, key) {
      safely("market", () =>
        best({
          id: messageId(marketEventType[kind], venue, symbol, key),
          type: marketEventType[kind],
          subject: subjects.market.of(venue, kind, symbol),
          data,
        }),
      );
    },
    notice(spec, data, id) {
      safely("notice", () => best(itemOf(spec, data, id)));
    },
    durable(timeoutMs = defaultTimeout) {
      const target = enqueued;
      // Someone waits: what is queued goes into the journal now, in one write.
      if (lane.unwritten) lane.write();
      if (stored() >= target) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          reject(new NotDurable(`the event bus did not store the events within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = {
          seq: target,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        waiters.push(waiter);
      });
    },
    get available() {
      return bus.connected && healthy && !lane.full;
    },
    async flush(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (
        (queue.length > 0 || draining !== undefined || scheduled || marketInFlight > 0) &&
        Date.now() < deadline
      ) {
        if (draining !== undefined) await Promise.race([draining, new Promise((r) => setTimeout(r, 50))]);
        else await new Promise((r) => setTimeout(r, 5));
      }
      lane.write();
      lane.reportShutdown(queue);
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
    get dropped() {
      return dropped;
    },
    get lastSeq() {
      return lastSeq;
    },
  };
}

/**
 * The publisher's journal side: the items queued go into the journal in one write (the group commit)
 * as soon as someone waits for them (`durable()`, so an order's events are one write however many
 * steps queued them), else at the end of the turn; `upTo` is the queue seq up to which every item is journaled, and
 * JetStream's acks are passed on as marks. Without a journal it does nothing. A failed write may have
 * left a partial line: nothing more goes into that journal, and orders wait for JetStream's acks again.
 */
class JournalLane {
  private readonly pending: Item[] = [];
  private scheduled = false;
  upTo = 0;

  constructor(
    private journal: Journal | undefined,
    private readonly logger: Logger,
    private readonly onWritten: () => void,
  ) {}

  add(item: Item): void {
    if (this.journal === undefined) return;
    this.pending.push(item);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.write();
    });
  }

  /** True when items are queued and not journaled yet. */
  get unwritten(): boolean {
    return this.pending.length > 0;
  }

  /** Appends what is queued and not journaled yet, in one write. */
  write(): void {
    const journal = this.journal;
    if (journal === undefined || this.pending.length === 0) return;
    const items = this.pending.splice(0);
    try {
      let j = journal.next;
      journal.append(items.map(entryOf));
      for (const i of items) i.j = j++;
      this.upTo = (items[items.length - 1] as Item).seq;
      this.onWritten();
    } catch (err) {
      this.logger.error(
        { err },
        "journal append failed; orders now wait for JetStream to store their events",
      );
      this.journal = undefined;
    }
  }

  acked(last: Item, seq: number): void {
    if (last.j !== undefined) this.journal?.acked(last.j, seq);
  }

  get full(): boolean {
    return this.journal?.full === true;
  }

  /** At shutdown: what is left for JetStream, and whether the journal keeps it for the next start. */
  reportShutdown(queue: readonly Item[]): void {
    if (queue.length === 0) return;
    if (this.journal !== undefined && queue.every((i) => i.j !== undefined))
      this.logger.warn(
        { pending: queue.length },
        "trade events not in JetStream at shutdown: the journal replays them at the next start",
      );
    else this.logger.error({ pending: queue.length }, "trade events not stored at shutdown");
  }
}

const entryOf = (i: Item) => ({
  msgId: i.id,
  event: i.event,
  data: i.data,
  ...(i.positionKey !== undefined ? { positionKey: i.positionKey } : {}),
});
