import type { Fill, Order } from "../../core/domain/trading.ts";
import type { Venue, VenueOrder } from "../../core/ports/venue.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import { type Tracked, strategyOf } from "./order-records.ts";
import { illegalTransition } from "../../core/domain/order-state.ts";
import type { PositionBook } from "./positions.ts";
import type { Publisher } from "./publisher.ts";
import type { RiskSource } from "./risk-source.ts";

/**
 * The one path by which a tracked order changes: its state (legal transitions only, order-state.ts,
 * each published once) and its fills (once each by venue trade id, each published with the position it
 * leaves). Venues that push (paper) and polls, resyncs, submits and cancels all end here.
 */
export class OrderUpdates {
  constructor(
    private readonly o: {
      publisher: Publisher;
      positions: PositionBook;
      risk: RiskSource;
      logger: Logger;
    },
  ) {}

  /** Sets an order's state: a legal transition is recorded, and published once per (status, filled). */
  setOrder(rec: Tracked, order: Order): void {
    const illegal = illegalTransition(rec.order, order);
    if (illegal !== undefined) {
      this.o.logger.error(
        { venue: order.venue, clientOrderId: order.clientOrderId, from: rec.order.status, to: order.status },
        `order state change refused: ${illegal}`,
      );
      return;
    }
    rec.order = order;
    const mark = `${order.status}:${order.filled}`;
    if (mark === rec.lastPublished) return;
    rec.lastPublished = mark;
    this.o.publisher.order(order, rec.correlationId);
  }

  /** Applies a venue's view of an order: new fills (once each, with positions), then the order state. */
  ingest(rec: Tracked, update: VenueOrder): void {
    for (const raw of update.fills) {
      if (rec.fillIds.has(raw.id)) continue;
      const fill: Fill = {
        ...raw,
        account: rec.request.account,
        clientOrderId: rec.request.clientOrderId,
        venue: rec.order.venue,
        ...strategyOf(rec.request),
      };
      rec.fillIds.add(fill.id);
      rec.fills.push(fill);
      rec.filledByFills += fill.amount;
      this.o.publisher.fill(fill, rec.correlationId);
      this.o.publisher.position(this.o.positions.apply(fill), fill.id, rec.correlationId);
      this.o.risk.invalidate();
    }
    const o = update.order;
    // A venue never un-fills: keep the larger filled amount if answers arrive out of order.
    if (o.filled < rec.order.filled && rec.known) return;
    this.setOrder(rec, {
      ...o,
      account: rec.request.account,
      clientOrderId: rec.request.clientOrderId,
      type: rec.request.type,
      venue: rec.order.venue,
      ...strategyOf(rec.request),
    });
  }

  /**
   * `ingest`, fetching the order's fills first when the answer lacks some (venues that do not send
   * them). Synchronous when nothing is fetched (undefined: the order path goes on in the same turn);
   * else the promise of the fetch and the ingest.
   */
  ingestWithFills(venue: Venue, rec: Tracked, update: VenueOrder): Promise<void> | undefined {
    const missing =
      update.order.filled -
      rec.filledByFills -
      update.fills.reduce((s, f) => s + (rec.fillIds.has(f.id) ? 0 : f.amount), 0);
    if (missing > 1e-12 && !venue.capabilities.fillsInAnswers) return this.fetchAndIngest(venue, rec, update);
    this.ingest(rec, update);
    return undefined;
  }

  private async fetchAndIngest(venue: Venue, rec: Tracked, update: VenueOrder): Promise<void> {
    const fills = await venue.fetchOrderFills(
      update.order.id,
      rec.order.symbol,
      rec.request.clientOrderId,
      rec.request.account,
    );
    this.ingest(rec, { order: update.order, fills });
  }
}
