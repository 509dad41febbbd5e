import type { Fill, Order, OrderRequest } from "../../core/domain/trading.ts";
import { TERMINAL } from "../../core/domain/order-state.ts";
import { orderKeyOf } from "../../core/exchange-state/trade-fold.ts";
import { fillsByVenueOrder } from "./fill-groups.ts";

/**
 * The orders the order manager tracks, indexed by (venue, client order id) — the idempotency key — and
 * by (venue, venue order id) once the venue has acknowledged them; with each its request, fills and
 * the state last published. Holds no I/O: the submit, update and resync modules change records only
 * through here and through order-updates.ts.
 */
export interface Tracked {
  request: OrderRequest;
  order: Order;
  /** The venue has acknowledged (or we found) the order: `order.id` is the venue's id. */
  known: boolean;
  fills: Fill[];
  fillIds: Set<string>;
  filledByFills: number;
  lastPublished: string;
  /** The flow the order belongs to (the submitting call's correlation id). */
  correlationId?: string;
  /**
   * A placement is in flight: polls and resyncs leave the order alone, or a lookup racing the request
   * could find nothing and wrongly conclude the order never reached the venue.
   */
  placing?: boolean;
}

export interface OrderRef {
  id?: string;
  clientOrderId?: string;
}

/** The key of a record: the same as the trade fold's key of the order (so recovery reuses its keys). */
export const recordKey = orderKeyOf;

/**
 * A record whose set of fill ids is built on first use from its fills: at start, 100,000 records are
 * rebuilt and most (finished orders) never receive another fill, so most sets are never built.
 * `fills` and `fillIds` change together (order-updates.ts adds to both).
 */
class TrackedRecord implements Tracked {
  fills: Fill[] = [];
  filledByFills = 0;
  declare correlationId?: string;
  declare placing?: boolean;
  private ids: Set<string> | undefined;

  constructor(
    public request: OrderRequest,
    public order: Order,
    public known: boolean,
    public lastPublished: string,
  ) {}

  get fillIds(): Set<string> {
    if (this.ids === undefined) this.ids = new Set(this.fills.map((f) => f.id));
    return this.ids;
  }
}

/** A new record of an order (no fills yet). */
export function tracked(
  request: OrderRequest,
  order: Order,
  known: boolean,
  lastPublished = "",
  correlationId?: string,
): Tracked {
  const rec = new TrackedRecord(request, order, known, lastPublished);
  if (correlationId !== undefined) rec.correlationId = correlationId;
  return rec;
}

export class OrderRecords {
  private readonly byClientId = new Map<string, Tracked>();
  private readonly byVenueId = new Map<string, Tracked>();

  /** Tracks a record under its client order id (and its venue id when known). */
  add(rec: Tracked): void {
    this.byClientId.set(recordKey(rec.order.venue, rec.request.clientOrderId), rec);
    if (rec.known) this.link(rec);
  }

  /** Indexes a record under the venue's id of its order (once the venue has acknowledged it). */
  link(rec: Tracked, venueOrderId = rec.order.id): void {
    this.byVenueId.set(recordKey(rec.order.venue, venueOrderId), rec);
  }

  byClient(venue: string, clientOrderId: string): Tracked | undefined {
    return this.byClientId.get(recordKey(venue, clientOrderId));
  }

  byVenue(venue: string, venueOrderId: string): Tracked | undefined {
    return this.byVenueId.get(recordKey(venue, venueOrderId));
  }

  find(venue: string, ref: OrderRef): Tracked | undefined {
    if (ref.clientOrderId !== undefined) return this.byClient(venue, ref.clientOrderId);
    if (ref.id !== undefined) return this.byVenue(venue, ref.id);
    return undefined;
  }

  /** Every record (a copy: callers may add records while iterating). */
  all(): Tracked[] {
    return [...this.byClientId.values()];
  }

  /** Open records of a venue whose placement is not in flight: what polls and resyncs look at. */
  settled(venue: string): Tracked[] {
    return this.all().filter(
      (r) => r.order.venue === venue && !TERMINAL.has(r.order.status) && r.placing !== true,
    );
  }

  list(filter: { venue?: string; symbol?: string; open?: boolean; account?: string }): Order[] {
    const out: Order[] = [];
    for (const { order: o } of this.byClientId.values()) {
      if (filter.venue !== undefined && o.venue !== filter.venue) continue;
      if (filter.symbol !== undefined && o.symbol !== filter.symbol) continue;
      if (filter.account !== undefined && o.account !== filter.account) continue;
      if (filter.open !== undefined && filter.open === TERMINAL.has(o.status)) continue;
      out.push(o);
    }
    return out;
  }

  /** Orders and fills held, for the recovery figures. */
  counts(): { orders: number; fills: number } {
    let fills = 0;
    for (const r of this.byClientId.values()) fills += r.fills.length;
    return { orders: this.byClientId.size, fills };
  }

  /**
   * Rebuilds records from the event history: the latest state of each order, then every fill once.
   * Built for 100,000 orders at start: each record takes its fills as grouped (fill-groups.ts) and one
   * key per index, about half the allocation of adding them one by one; given the trade fold's map of
   * orders (keyed by {@link recordKey}), its keys are reused instead of being built again.
   */
  restore(orders: Iterable<Order> | ReadonlyMap<string, Order>, fills: Iterable<Fill>): void {
    const byOrder = fillsByVenueOrder(fills);
    for (const [key, o] of keyedOrders(orders)) {
      const known = o.status !== "submitted" || o.id !== o.clientOrderId;
      const rec = tracked(requestOf(o), o, known, `${o.status}:${o.filled}`);
      const own = byOrder.get(o.venue)?.get(o.clientOrderId);
      if (own !== undefined) withFills(rec, own);
      this.byClientId.set(key, rec);
      if (known) this.byVenueId.set(o.id === o.clientOrderId ? key : recordKey(o.venue, o.id), rec);
    }
  }
}

/** The orders with their record keys (the map's own keys when given the fold's map). */
function keyedOrders(
  orders: Iterable<Order> | ReadonlyMap<string, Order>,
): Iterable<readonly [string, Order]> {
  if (orders instanceof Map) return (orders as ReadonlyMap<string, Order>).entries();
  return Array.from(orders as Iterable<Order>, (o) => [recordKey(o.venue, o.clientOrderId), o] as const);
}

/** Gives a new record its fills, each id once (the list itself when it repeats none). */
function withFills(rec: Tracked, own: Fill[]): void {
  if (own.length === 1) {
    // One fill repeats no id: its set of ids is left to be built when first needed.
    rec.fills = own;
    rec.filledByFills = (own[0] as Fill).amount;
    return;
  }
  for (const f of own) {
    if (rec.fillIds.has(f.id)) continue;
    rec.fillIds.add(f.id);
    rec.filledByFills += f.amount;
  }
  rec.fills =
    rec.fillIds.size === own.length ? own : own.filter((f, i) => own.findIndex((g) => g.id === f.id) === i);
}

/** The request an order stands for (terms a reused client order id must repeat). */
export function requestOf(o: Order, clientOrderId = o.clientOrderId): OrderRequest {
  const r: OrderRequest = {
    clientOrderId,
    account: o.account,
    venue: o.venue,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    amount: o.amount,
  };
  if (o.price !== undefined) r.price = o.price;
  if (o.stopPrice !== undefined) r.stopPrice = o.stopPrice;
  if (o.strategyId !== undefined) r.strategyId = o.strategyId;
  return r;
}

/** The strategy attribution an order request carries onto its order and fills (nothing for manual orders). */
export const strategyOf = (r: OrderRequest): { strategyId?: string } =>
  r.strategyId !== undefined ? { strategyId: r.strategyId } : {};
