import type { Fill, Order, OrderRequest } from "../../core/domain/trading.ts";
import {
  type Balance,
  type Venue,
  VenueNetworkError,
  VenueOrderNotFound,
  VenueRejected,
} from "../../core/ports/venue.ts";
import { rejected } from "../../core/tools/errors.ts";
import { accountView } from "./account-view.ts";
import type { OmsContext, OmsOptions } from "./oms-context.ts";
import { type OrderRef, OrderRecords, type Tracked } from "./order-records.ts";
import { TERMINAL } from "../../core/domain/order-state.ts";
import { OrderUpdates } from "./order-updates.ts";
import { PositionBook } from "./positions.ts";
import { PriceCache } from "./price-cache.ts";
import { Resyncer } from "./resync.ts";
import { type SubmitResult, Submitter } from "./submit.ts";
import { type VenueState, VenueStates } from "./venue-states.ts";

export type { OmsOptions } from "./oms-context.ts";
export type { SubmitResult } from "./submit.ts";
export type { VenueState } from "./venue-states.ts";

/**
 * The order manager: the one place orders go through, assembled from parts with one job each —
 * submit.ts (submit, idempotency, checks, placement and its reconciliation), order-updates.ts (the one
 * path an order's state and fills change, each published once), order-records.ts (the tracked orders
 * and their restore from the event history), resync.ts (polling, outages, resync, adoption),
 * venue-states.ts (venue up/down), price-cache.ts and account-view.ts (prices, balances, equity).
 * Venues that push (paper) feed `ingest` through their update listener; polled venues (ccxt) are
 * polled by `poll`. What a venue can do is read from its declared capabilities, never its class.
 */
export class OrderManager {
  readonly positions = new PositionBook();
  private readonly records = new OrderRecords();
  private readonly states: VenueStates;
  private readonly updates: OrderUpdates;
  private readonly submitter: Submitter;
  private readonly resyncer: Resyncer;
  private readonly balances = new Map<string, Record<string, Balance>>();
  private readonly prices = new PriceCache();

  constructor(private readonly o: OmsOptions) {
    this.states = new VenueStates(o.logger);
    this.updates = new OrderUpdates({
      publisher: o.publisher,
      positions: this.positions,
      risk: o.risk,
      logger: o.logger,
    });
    const context: OmsContext = {
      o,
      records: this.records,
      states: this.states,
      updates: this.updates,
      venue: (name) => this.venue(name),
      timeOf: (name) => this.o.venues.get(name)?.time?.() ?? Date.now(),
      price: (venue, symbol) => this.price(venue, symbol),
    };
    this.submitter = new Submitter(context);
    this.resyncer = new Resyncer(context, (venue) => this.fetchBalances(venue));
    for (const [name, venue] of o.venues) {
      this.states.set(name, venue.capabilities.polled ? "initializing" : "up");
      venue.onUpdate?.((update) => {
        const rec = this.records.byVenue(name, update.order.id);
        if (rec !== undefined) this.updates.ingest(rec, update);
      });
    }
  }

  venue(name: string): Venue {
    const venue = this.o.venues.get(name);
    if (venue === undefined) {
      throw rejected(`unknown venue "${name}"; configured: ${[...this.o.venues.keys()].join(", ")}`, {
        venues: [...this.o.venues.keys()],
      });
    }
    return venue;
  }

  state(venue: string): VenueState {
    return this.states.state(venue);
  }

  lastError(venue: string): { message: string; at: number } | undefined {
    return this.states.lastError(venue);
  }

  markDown(venue: string, err: unknown): void {
    this.states.markDown(venue, err);
  }

  /** Latest price of a symbol, from any venue (tickers, books, the paper feed). */
  setPrice(venue: string, symbol: string, price: number): void {
    if (this.prices.set(venue, symbol, price)) this.o.risk.invalidate();
  }

  price(venue: string, symbol: string): number | undefined {
    return this.prices.get(venue, symbol);
  }

  // ── recovery ────────────────────────────────────────────────────────────────────────────────────

  /**
   * Rebuilds the records from the event history (latest state of each order, every fill) before any
   * venue comes up: idempotency by client order id, fills and positions survive restarts.
   */
  restore(orders: Iterable<Order> | ReadonlyMap<string, Order>, fills: Iterable<Fill>): void {
    const all = [...fills];
    this.records.restore(orders, all);
    for (const f of all) this.positions.apply(f);
    this.o.risk.invalidate();
  }

  settleUnplaced(venueName: string): number {
    return this.resyncer.settleUnplaced(venueName);
  }

  /** Orders and fills held, for the recovery figures. */
  counts(): { orders: number; fills: number } {
    return this.records.counts();
  }

  // ── orders ──────────────────────────────────────────────────────────────────────────────────────

  /** `correlationId` (the tool call's) is carried by every event of the order (submit.ts). */
  submit(request: OrderRequest, correlationId?: string): Promise<SubmitResult> {
    return this.submitter.submit(request, correlationId);
  }

  /** Applies a venue's view of an order (order-updates.ts). */
  ingest(rec: Tracked, update: Parameters<OrderUpdates["ingest"]>[1]): void {
    this.updates.ingest(rec, update);
  }

  find(venue: string, ref: OrderRef): Tracked | undefined {
    return this.records.find(venue, ref);
  }

  get(venue: string, ref: OrderRef): { order: Order; fills: Fill[] } | undefined {
    const rec = this.find(venue, ref);
    return rec === undefined ? undefined : { order: rec.order, fills: [...rec.fills] };
  }

  list(filter: { venue?: string; symbol?: string; open?: boolean; account?: string }): Order[] {
    return this.records.list(filter);
  }

  async cancel(venueName: string, ref: OrderRef): Promise<Order> {
    const venue = this.venue(venueName);
    const rec = this.find(venueName, ref);
    if (rec !== undefined && TERMINAL.has(rec.order.status)) {
      throw rejected(`order ${rec.order.id} is already ${rec.order.status}`, { order: rec.order });
    }
    if (rec !== undefined && !rec.known) {
      throw rejected(`order ${rec.request.clientOrderId} has not been acknowledged by ${venueName} yet`, {
        order: rec.order,
      });
    }
    const target = rec !== undefined ? { id: rec.order.id } : ref;
    const symbol = rec?.order.symbol ?? (await symbolOf(venue, ref));
    try {
      const answer = await venue.cancelOrder(target, symbol);
      if (rec === undefined) return answer.order;
      await this.updates.ingestWithFills(venue, rec, answer);
      return rec.order;
    } catch (err) {
      if (err instanceof VenueOrderNotFound)
        throw rejected(`${venueName} does not know order ${ref.id ?? ref.clientOrderId}`);
      if (err instanceof VenueRejected) throw rejected(`${venueName} refused the cancel: ${err.message}`);
      if (err instanceof VenueNetworkError) this.markDown(venueName, err);
      throw err;
    }
  }

  // ── balances ────────────────────────────────────────────────────────────────────────────────────

  async fetchBalances(venueName: string): Promise<Record<string, Balance>> {
    const balances = await this.venue(venueName).fetchBalances();
    this.balances.set(venueName, balances);
    this.o.risk.invalidate();
    return balances;
  }

  /** Equity (quote value of every balance this manager has seen) and positions of an account. */
  accountView(account: string) {
    return accountView({
      account,
      venues: this.o.venues,
      fetched: this.balances,
      prices: this.prices,
      positions: this.positions,
    });
  }

  // ── polled venues ───────────────────────────────────────────────────────────────────────────────

  initPublic(venueName: string): Promise<void> {
    return this.resyncer.initPublic(venueName);
  }

  poll(venueName: string): Promise<void> {
    return this.resyncer.poll(venueName);
  }

  resync(venueName: string): Promise<void> {
    return this.resyncer.resync(venueName);
  }
}

async function symbolOf(venue: Venue, ref: OrderRef): Promise<string> {
  const open = await venue.fetchOpenOrders();
  const hit = open.find((o) => o.order.id === ref.id || o.order.clientOrderId === ref.clientOrderId);
  if (hit === undefined) throw rejected(`${venue.name} has no open order ${ref.id ?? ref.clientOrderId}`);
  return hit.order.symbol;
}
