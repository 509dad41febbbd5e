import { type Venue, VenueNetworkError, type VenueOrder, VenueRateLimited } from "../../core/ports/venue.ts";
import type { OmsContext } from "./oms-context.ts";
import { requestOf, type Tracked, tracked } from "./order-records.ts";
import { TERMINAL } from "../../core/domain/order-state.ts";

/**
 * Keeping polled venues (ccxt) in step: `poll` refreshes tracked open orders while the venue is up;
 * after an outage (`markDown`) `resync` reloads open orders, resolves orders whose submit outcome is
 * unknown, adopts orders the venue has that we do not track, fetches the fills of every order whose
 * filled amount moved, marks orders the venue forgot and older than `staleOrderMs` canceled, reloads
 * balances, and only then marks the venue up again. `settleUnplaced` settles, after a restart, the
 * orders of a venue without remote state (paper) that were never placed.
 */
export const STALE_ORDER_MS = 5 * 24 * 3_600_000;

export class Resyncer {
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly c: OmsContext,
    private readonly fetchBalances: (venue: string) => Promise<unknown>,
  ) {}

  /** Loads a public-only venue's markets and marks it up (no orders, no balances to resync). */
  async initPublic(venueName: string): Promise<void> {
    try {
      await this.c.venue(venueName).init();
      this.c.states.set(venueName, "up");
    } catch (err) {
      this.c.states.noteError(venueName, err);
      throw err;
    }
  }

  /** One polling pass over a polled venue: resync when it is not up, else refresh its open orders. */
  async poll(venueName: string): Promise<void> {
    const venue = this.c.venue(venueName);
    if (this.c.states.state(venueName) !== "up") {
      await this.resync(venueName);
      return;
    }
    const open = this.c.records.settled(venueName);
    if (open.length === 0) return;
    try {
      const bySymbol = new Map<string, Map<string, VenueOrder>>();
      for (const symbol of new Set(open.map((r) => r.order.symbol))) {
        const list = await venue.fetchOpenOrders(symbol);
        bySymbol.set(symbol, new Map(list.map((v) => [v.order.id, v])));
      }
      for (const rec of open) {
        if (!rec.known) {
          await this.adoptUnknown(venue, rec);
          continue;
        }
        const seen =
          bySymbol.get(rec.order.symbol)?.get(rec.order.id) ??
          (await venue.fetchOrder({ id: rec.order.id }, rec.order.symbol));
        if (seen !== undefined) await this.c.updates.ingestWithFills(venue, rec, seen);
      }
    } catch (err) {
      if (err instanceof VenueNetworkError || err instanceof VenueRateLimited)
        this.c.states.markDown(venueName, err);
      else this.c.states.noteError(venueName, err);
    }
  }

  /** An order whose placement outcome is unknown: tracked as the venue has it, or rejected if it has none. */
  private async adoptUnknown(venue: Venue, rec: Tracked): Promise<void> {
    const found = await venue.fetchOrder({ clientOrderId: rec.request.clientOrderId }, rec.request.symbol);
    if (found === undefined) {
      this.c.updates.setOrder(rec, {
        ...rec.order,
        status: "rejected",
        reason: "the order never reached the venue",
        updatedAt: this.c.timeOf(rec.order.venue),
      });
      return;
    }
    rec.known = true;
    this.c.records.link(rec, found.order.id);
    await this.c.updates.ingestWithFills(venue, rec, found);
  }

  /** Brings the venue back (see above); then marks it up. Concurrent calls share one pass. */
  resync(venueName: string): Promise<void> {
    const running = this.running.get(venueName);
    if (running !== undefined) return running;
    const pass = this.doResync(venueName).finally(() => this.running.delete(venueName));
    this.running.set(venueName, pass);
    return pass;
  }

  private async doResync(venueName: string): Promise<void> {
    const venue = this.c.venue(venueName);
    const { states } = this.c;
    const before = states.state(venueName);
    states.set(venueName, "resyncing");
    try {
      await venue.init();
      const open = await venue.fetchOpenOrders();
      const openIds = new Map(open.map((v) => [v.order.id, v]));
      for (const rec of this.c.records.settled(venueName)) await this.refresh(venue, rec, openIds);
      for (const v of open) {
        if (this.c.records.byVenue(venueName, v.order.id) !== undefined) continue;
        // Ours, with its placement still in flight: the submit will record it.
        if (this.c.records.byClient(venueName, v.order.clientOrderId) !== undefined) continue;
        await this.adopt(venue, v);
      }
      await this.fetchBalances(venueName);
      states.set(venueName, "up");
      if (before !== "up")
        this.c.o.logger.info({ venue: venueName, open: open.length }, "venue resynced; accepting orders");
    } catch (err) {
      states.set(venueName, before === "initializing" ? "initializing" : "down");
      states.noteError(venueName, err);
      throw err;
    }
  }

  /** One tracked open order during a resync: refreshed, adopted, or canceled when forgotten and stale. */
  private async refresh(venue: Venue, rec: Tracked, open: ReadonlyMap<string, VenueOrder>): Promise<void> {
    if (!rec.known) {
      await this.adoptUnknown(venue, rec);
      return;
    }
    const seen = open.get(rec.order.id) ?? (await venue.fetchOrder({ id: rec.order.id }, rec.order.symbol));
    if (seen !== undefined) {
      await this.c.updates.ingestWithFills(venue, rec, seen);
      return;
    }
    const staleMs = this.c.o.staleOrderMs ?? STALE_ORDER_MS;
    if (Date.now() - rec.order.createdAt <= staleMs) return;
    this.c.updates.setOrder(rec, {
      ...rec.order,
      status: "canceled",
      reason: `${venue.name} no longer knows the order and it is older than ${Math.round(staleMs / 3_600_000)} h`,
      updatedAt: Date.now(),
    });
  }

  /** Tracks an open order the venue has and we did not know (placed before a restart, or elsewhere). */
  private async adopt(venue: Venue, v: VenueOrder): Promise<void> {
    const o = { ...v.order, venue: venue.name };
    const rec = tracked(requestOf(o, o.clientOrderId.slice(0, 36)), o, true);
    this.c.records.add(rec);
    await this.c.updates.ingestWithFills(venue, rec, v);
  }

  /**
   * Orders of a venue without remote state (paper) whose placement was never stored: the process
   * stopped between `order.submitted` and the venue's answer, so the venue never had them.
   */
  settleUnplaced(venueName: string): number {
    let n = 0;
    for (const rec of this.c.records.all()) {
      if (rec.order.venue !== venueName || rec.known || TERMINAL.has(rec.order.status)) continue;
      this.c.updates.setOrder(rec, {
        ...rec.order,
        status: "rejected",
        reason: "the order never reached the venue (the exchange stopped before placing it)",
        updatedAt: this.c.timeOf(venueName),
      });
      n++;
    }
    return n;
  }
}
