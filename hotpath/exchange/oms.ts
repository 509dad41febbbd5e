import { type PreTradeLimits, preTradeRefusal } from "../../core/compliance/pretrade.ts";
import type { Fill, Order, OrderRequest } from "../../core/domain/trading.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { type PreTradeResult, preTradeCheck } from "../../core/risk/pretrade.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import { rejected, ToolError } from "../../core/tools/errors.ts";
import { accountView, PriceCache } from "./account-view.ts";
import { marketIssues, termsConflict } from "./order-checks.ts";
import { illegalTransition, TERMINAL } from "./order-state.ts";
import { PositionBook } from "./positions.ts";
import { NotDurable, type Publisher } from "./publisher.ts";
import type { RiskSource, SnapshotSource } from "./risk-source.ts";
import {
  type Balance,
  type Venue,
  type VenueMarket,
  VenueNetworkError,
  type VenueOrder,
  VenueOrderNotFound,
  VenueRateLimited,
  VenueRejected,
} from "./venue.ts";

/**
 * The order manager: the one place orders go through.
 *
 * submit: refused while the event bus cannot store events (fail closed); idempotent by (venue,
 * clientOrderId) — a repeat with the same terms returns the order, a repeat with other terms is refused
 * naming the field; validated against the venue's market (symbol, step, tick, minimums) before anything
 * is sent (order-checks.ts); checked by the in-process pre-trade check against the current risk
 * snapshot; published `order.submitted` (stored before the venue sees the order when the venue keeps
 * state itself); placed; answered only once every event of the order is stored in JetStream. A
 * placement that fails on the network is reconciled by querying the venue for the client order id
 * BEFORE any retry: found → tracked as is (never placed twice); confirmed absent → placed again (once);
 * venue unreachable → the order stays tracked as `submitted` and the venue is marked down, so the
 * resync finds it.
 *
 * Every state change of an order (status, filled) is published once; every fill once (by venue trade
 * id), each followed by the position it changes. Venues that push (paper) feed `ingest` directly;
 * polled venues (ccxt) are polled by `poll`. After an outage (`markDown`), `resync` reloads open
 * orders, adopts orders the venue has that we do not track, fetches the fills of every order whose
 * filled amount moved, reloads balances, and only then marks the venue up again; until then submits
 * to it are refused. `restore` rebuilds the records from the event history at start.
 */
export type VenueState = "initializing" | "up" | "down" | "resyncing";

export interface OmsOptions {
  venues: ReadonlyMap<string, Venue>;
  publisher: Publisher;
  risk: RiskSource;
  /** Pre-trade compliance limits (core/compliance/pretrade.ts); absent: no compliance check. */
  compliance?: PreTradeLimits;
  logger: Logger;
  /** Attempts to reach the venue when reconciling a submit (default 4, backoff from 100 ms). */
  reconcileAttempts?: number;
  reconcileDelayMs?: number;
  /** How long a submit waits for its events to be stored before answering 503 (default 5 000 ms). */
  durableTimeoutMs?: number;
  /**
   * An open order the venue no longer knows is marked canceled once it is older than this (default
   * 5 days, as freqtrade); younger ones are left open and looked up again at the next resync.
   */
  staleOrderMs?: number;
}

export interface SubmitResult {
  order: Order;
  fills: Fill[];
  pretrade: PreTradeResult & { source: SnapshotSource };
}

interface Tracked {
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

export const STALE_ORDER_MS = 5 * 24 * 3_600_000;

export class OrderManager {
  private readonly records = new Map<string, Tracked>();
  private readonly byVenueId = new Map<string, Tracked>();
  private readonly submissions = new Map<string, Promise<SubmitResult>>();
  readonly positions = new PositionBook();
  private readonly states = new Map<string, VenueState>();
  private readonly lastErrors = new Map<string, { message: string; at: number }>();
  private readonly balances = new Map<string, Record<string, Balance>>();
  private readonly prices = new PriceCache();
  private readonly resyncs = new Map<string, Promise<void>>();

  constructor(private readonly o: OmsOptions) {
    for (const [name, venue] of o.venues) {
      this.states.set(name, venue.capabilities.polled ? "initializing" : "up");
      venue.onUpdate?.((update) => {
        const rec = this.byVenueId.get(`${name}|${update.order.id}`);
        if (rec !== undefined) this.ingest(rec, update);
      });
    }
  }

  /** Now on the venue's time base (paper: the market clock), which its order states are stamped with. */
  private timeOf(venueName: string): number {
    return this.o.venues.get(venueName)?.time?.() ?? Date.now();
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
    return this.states.get(venue) ?? "down";
  }

  lastError(venue: string): { message: string; at: number } | undefined {
    return this.lastErrors.get(venue);
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
  restore(orders: Iterable<Order>, fills: Iterable<Fill>): void {
    for (const o of orders) {
      const rec: Tracked = {
        request: requestOf(o),
        order: o,
        known: o.status !== "submitted" || o.id !== o.clientOrderId,
        fills: [],
        fillIds: new Set(),
        filledByFills: 0,
        lastPublished: `${o.status}:${o.filled}`,
      };
      this.records.set(`${o.venue}|${o.clientOrderId}`, rec);
      if (rec.known) this.byVenueId.set(`${o.venue}|${o.id}`, rec);
    }
    for (const f of fills) {
      const rec = this.records.get(`${f.venue}|${f.clientOrderId}`);
      if (rec !== undefined && !rec.fillIds.has(f.id)) {
        rec.fillIds.add(f.id);
        rec.fills.push(f);
        rec.filledByFills += f.amount;
      }
      this.positions.apply(f);
    }
    this.o.risk.invalidate();
  }

  /**
   * Orders of a venue without remote state (paper) whose placement was never stored: the process
   * stopped between `order.submitted` and the venue's answer, so the venue never had them.
   */
  settleUnplaced(venueName: string): number {
    let n = 0;
    for (const rec of this.records.values()) {
      if (rec.order.venue !== venueName || rec.known || TERMINAL.has(rec.order.status)) continue;
      this.setOrder(rec, {
        ...rec.order,
        status: "rejected",
        reason: "the order never reached the venue (the exchange stopped before placing it)",
        updatedAt: this.timeOf(venueName),
      });
      n++;
    }
    return n;
  }

  /** Orders and fills held, for the recovery figures. */
  counts(): { orders: number; fills: number } {
    let fills = 0;
    for (const r of this.records.values()) fills += r.fills.length;
    return { orders: this.records.size, fills };
  }

  // ── submit ──────────────────────────────────────────────────────────────────────────────────────

  /** `correlationId` (the tool call's) is carried by every event of the order. */
  submit(request: OrderRequest, correlationId?: string): Promise<SubmitResult> {
    const key = `${request.venue}|${request.clientOrderId}`;
    const rec = this.records.get(key);
    if (rec !== undefined) {
      const conflicts = termsConflict(rec.request, request);
      if (conflicts.length > 0) {
        return Promise.reject(
          new ToolError(RpcCode.InvalidParams, conflicts.map((c) => c.message).join("; "), {
            issues: conflicts,
            order: rec.order,
          }),
        );
      }
    }
    const existing = this.submissions.get(key);
    if (existing !== undefined) return existing;
    if (rec !== undefined) return this.replay(rec);
    if (!this.o.publisher.available) {
      return Promise.reject(
        new ToolError(
          RpcCode.AgentUnavailable,
          "the event bus (NATS JetStream) is unavailable: orders are refused until their events can be stored",
          { bus: "down" },
        ),
      );
    }
    const pending = this.doSubmit(key, request, correlationId);
    this.submissions.set(key, pending);
    const forget = () => {
      if (this.submissions.get(key) === pending) this.submissions.delete(key);
    };
    pending.then(forget, forget);
    return pending;
  }

  /** A repeat of a submit: the order's state now (a rejection is repeated as a rejection). */
  private async replay(rec: Tracked): Promise<SubmitResult> {
    if (!rec.known && !TERMINAL.has(rec.order.status)) {
      throw new ToolError(
        RpcCode.AgentUnavailable,
        `order ${rec.request.clientOrderId} is being reconciled with ${rec.order.venue}`,
        { order: rec.order },
      );
    }
    await this.durable(rec);
    if (rec.order.status === "rejected") {
      throw rejected(rec.order.reason ?? "the order was rejected", { order: rec.order });
    }
    const { snapshot, source } = this.o.risk.snapshot(rec.request.account);
    const pretrade = { ...preTradeCheck(rec.request, snapshot), source };
    return { order: rec.order, fills: [...rec.fills], pretrade };
  }

  /** Waits until every event queued so far (this order's included) is stored; 503 otherwise. */
  private async durable(rec: Tracked): Promise<void> {
    try {
      await this.o.publisher.durable(this.o.durableTimeoutMs);
    } catch (err) {
      if (!(err instanceof NotDurable)) throw err;
      throw new ToolError(
        RpcCode.AgentUnavailable,
        `the event bus (NATS JetStream) has not stored the events of order ${rec.request.clientOrderId} yet; they are kept and retried — ask again with the same client_order_id for its outcome`,
        { bus: "down", order: rec.order },
      );
    }
  }

  /** The market checks a venue would reject an order for; empty when the order fits. */
  validate(request: OrderRequest, market: VenueMarket | undefined): { path: string; message: string }[] {
    return marketIssues(request, market, this.price(request.venue, request.symbol));
  }

  private async doSubmit(key: string, request: OrderRequest, correlationId?: string): Promise<SubmitResult> {
    const venue = this.venue(request.venue);
    if (venue.canTrade === false) {
      throw rejected(`${venue.name} has no API keys configured: it serves market data only`, {
        venue: venue.name,
      });
    }
    const state = this.state(venue.name);
    if (state !== "up") {
      throw new ToolError(
        RpcCode.AgentUnavailable,
        `venue ${venue.name} is ${state}: orders are accepted again once it has resynced open orders, fills and balances`,
        { venue: venue.name, state },
      );
    }
    const issues = this.validate(request, venue.market(request.symbol));
    if (issues.length > 0) {
      throw new ToolError(
        RpcCode.InvalidParams,
        `order refused before sending: ${issues.map((i) => i.message).join("; ")}`,
        { issues },
      );
    }

    const { snapshot, source } = this.o.risk.snapshot(request.account);
    const check = preTradeCheck(
      {
        symbol: request.symbol,
        side: request.side,
        amount: request.amount,
        price: request.price ?? request.stopPrice ?? this.price(venue.name, request.symbol),
      },
      snapshot,
    );
    const pretrade = { ...check, source };
    const now = this.timeOf(venue.name);
    const order: Order = {
      id: request.clientOrderId,
      clientOrderId: request.clientOrderId,
      account: request.account,
      venue: venue.name,
      symbol: request.symbol,
      side: request.side,
      type: request.type,
      amount: request.amount,
      status: "submitted",
      filled: 0,
      remaining: request.amount,
      createdAt: now,
      updatedAt: now,
      ...strategyOf(request),
      ...(request.price !== undefined ? { price: request.price } : {}),
      ...(request.stopPrice !== undefined ? { stopPrice: request.stopPrice } : {}),
    };
    const rec: Tracked = {
      request,
      order,
      known: false,
      fills: [],
      fillIds: new Set(),
      filledByFills: 0,
      lastPublished: "",
      ...(correlationId !== undefined ? { correlationId } : {}),
    };
    this.records.set(key, rec);

    const refusal =
      this.o.compliance &&
      preTradeRefusal(request, this.price(venue.name, request.symbol), this.o.compliance);
    if (refusal !== undefined) {
      this.setOrder(rec, { ...order, status: "rejected", reason: refusal.message });
      throw rejected(refusal.message, {
        cause: "compliance",
        code: "compliance.refused",
        violations: refusal.violations,
        order: rec.order,
      });
    }
    if (!check.approved) {
      const reason = `pre-trade check failed: ${check.reasons.map((r) => r.message).join("; ")}`;
      this.setOrder(rec, { ...order, status: "rejected", reason });
      await this.durable(rec);
      throw rejected(reason, {
        cause: "risk",
        code: "risk.refused",
        reasons: check.reasons,
        order: rec.order,
        source,
      });
    }
    this.setOrder(rec, order);
    // From here until the venue has answered, polls and resyncs leave the order alone: a resync
    // running while `order.submitted` is being stored would otherwise look the order up, find
    // nothing, settle it `rejected`, and the placement would then bring `accepted` after it.
    rec.placing = true;
    let answer: VenueOrder | undefined;
    try {
      // A venue that keeps orders itself must never hold an order the history does not know of.
      if (venue.capabilities.remoteState) await this.durable(rec);
      answer = await this.place(venue, request);
    } catch (err) {
      rec.placing = false;
      if (err instanceof VenueRejected || err instanceof VenueRateLimited) {
        const reason =
          err instanceof VenueRateLimited ? `rate limited by ${venue.name}: ${err.message}` : err.message;
        this.setOrder(rec, { ...rec.order, status: "rejected", reason, updatedAt: this.timeOf(venue.name) });
        await this.durable(rec);
        throw rejected(`${venue.name} rejected the order: ${reason}`, {
          cause: "exchange",
          code: err instanceof VenueRateLimited ? "exchange.rate_limited" : "exchange.rejected",
          order: rec.order,
        });
      }
      if (err instanceof UnknownOutcome) {
        this.markDown(venue.name, err);
        throw new ToolError(
          RpcCode.AgentUnavailable,
          `${venue.name} did not answer; the order's fate is unknown and will be reconciled by client order id ${request.clientOrderId} when the venue is back`,
          { order: rec.order },
        );
      }
      throw err;
    }
    rec.placing = false;
    rec.known = true;
    this.byVenueId.set(`${venue.name}|${answer.order.id}`, rec);
    if (answer.order.status !== "accepted" && answer.order.status !== "rejected") {
      this.setOrder(rec, {
        ...rec.order,
        id: answer.order.id,
        status: "accepted",
        updatedAt: answer.order.createdAt,
      });
    }
    await this.ingestWithFills(venue, rec, answer);
    await this.durable(rec);
    return { order: rec.order, fills: [...rec.fills], pretrade };
  }

  /** Places an order; on a network failure asks the venue for the client order id before any retry. */
  private async place(venue: Venue, request: OrderRequest): Promise<VenueOrder> {
    for (let placement = 0; ; placement++) {
      try {
        return await venue.placeOrder(request);
      } catch (err) {
        if (!(err instanceof VenueNetworkError)) throw err;
        this.noteError(venue.name, err);
        const found = await this.reconcile(venue, request);
        if (found === "unknown") throw new UnknownOutcome(err.message, { cause: err });
        if (found !== undefined) return found;
        if (placement >= 1) throw new UnknownOutcome(`placing failed twice: ${err.message}`, { cause: err });
        this.o.logger.warn(
          { venue: venue.name, clientOrderId: request.clientOrderId },
          "order never reached the venue; placing it again",
        );
      }
    }
  }

  private async reconcile(venue: Venue, request: OrderRequest): Promise<VenueOrder | undefined | "unknown"> {
    const attempts = this.o.reconcileAttempts ?? 4;
    const delay = this.o.reconcileDelayMs ?? 100;
    for (let i = 0; i < attempts; i++) {
      try {
        return await venue.fetchOrder({ clientOrderId: request.clientOrderId }, request.symbol);
      } catch (err) {
        if (err instanceof VenueRejected) throw err;
        this.noteError(venue.name, err);
        await sleep(delay * 2 ** i);
      }
    }
    return "unknown";
  }

  // ── state and events ────────────────────────────────────────────────────────────────────────────

  /** The one way an order's state changes: legal transitions only (order-state.ts), each published once. */
  private setOrder(rec: Tracked, order: Order): void {
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
      this.o.publisher.position(this.positions.apply(fill), fill.id, rec.correlationId);
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

  private async ingestWithFills(venue: Venue, rec: Tracked, update: VenueOrder): Promise<void> {
    let fills = update.fills;
    const missing =
      update.order.filled -
      rec.filledByFills -
      fills.reduce((s, f) => s + (rec.fillIds.has(f.id) ? 0 : f.amount), 0);
    if (missing > 1e-12 && !venue.capabilities.fillsInAnswers) {
      fills = await venue.fetchOrderFills(
        update.order.id,
        rec.order.symbol,
        rec.request.clientOrderId,
        rec.request.account,
      );
    }
    this.ingest(rec, { order: update.order, fills });
  }

  // ── queries ─────────────────────────────────────────────────────────────────────────────────────

  find(venue: string, ref: { id?: string; clientOrderId?: string }): Tracked | undefined {
    if (ref.clientOrderId !== undefined) return this.records.get(`${venue}|${ref.clientOrderId}`);
    if (ref.id !== undefined) return this.byVenueId.get(`${venue}|${ref.id}`);
    return undefined;
  }

  get(
    venue: string,
    ref: { id?: string; clientOrderId?: string },
  ): { order: Order; fills: Fill[] } | undefined {
    const rec = this.find(venue, ref);
    return rec === undefined ? undefined : { order: rec.order, fills: [...rec.fills] };
  }

  list(filter: { venue?: string; symbol?: string; open?: boolean; account?: string }): Order[] {
    const out: Order[] = [];
    for (const rec of this.records.values()) {
      const o = rec.order;
      if (filter.venue !== undefined && o.venue !== filter.venue) continue;
      if (filter.symbol !== undefined && o.symbol !== filter.symbol) continue;
      if (filter.account !== undefined && o.account !== filter.account) continue;
      if (filter.open !== undefined && filter.open === TERMINAL.has(o.status)) continue;
      out.push(o);
    }
    return out;
  }

  async cancel(venueName: string, ref: { id?: string; clientOrderId?: string }): Promise<Order> {
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
    const symbol = rec?.order.symbol ?? (await this.symbolOf(venue, ref));
    try {
      const answer = await venue.cancelOrder(target, symbol);
      if (rec === undefined) return answer.order;
      await this.ingestWithFills(venue, rec, answer);
      return rec.order;
    } catch (err) {
      if (err instanceof VenueOrderNotFound)
        throw rejected(`${venueName} does not know order ${ref.id ?? ref.clientOrderId}`);
      if (err instanceof VenueRejected) throw rejected(`${venueName} refused the cancel: ${err.message}`);
      if (err instanceof VenueNetworkError) this.markDown(venueName, err);
      throw err;
    }
  }

  private async symbolOf(venue: Venue, ref: { id?: string; clientOrderId?: string }): Promise<string> {
    const open = await venue.fetchOpenOrders();
    const hit = open.find((o) => o.order.id === ref.id || o.order.clientOrderId === ref.clientOrderId);
    if (hit === undefined) throw rejected(`${venue.name} has no open order ${ref.id ?? ref.clientOrderId}`);
    return hit.order.symbol;
  }

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

  // ── polling, outages, resync ────────────────────────────────────────────────────────────────────

  private noteError(venue: string, err: unknown): void {
    this.lastErrors.set(venue, { message: err instanceof Error ? err.message : String(err), at: Date.now() });
  }

  markDown(venue: string, err: unknown): void {
    this.noteError(venue, err);
    if (this.states.get(venue) !== "down") {
      this.o.logger.warn({ venue, err }, "venue down; orders refused until it resyncs");
      this.states.set(venue, "down");
    }
  }

  /** Loads a public-only venue's markets and marks it up (no orders, no balances to resync). */
  async initPublic(venueName: string): Promise<void> {
    try {
      await this.venue(venueName).init();
      this.states.set(venueName, "up");
    } catch (err) {
      this.noteError(venueName, err);
      throw err;
    }
  }

  /** One polling pass over a polled venue: resync when it is not up, else refresh its open orders. */
  async poll(venueName: string): Promise<void> {
    const venue = this.venue(venueName);
    if (this.state(venueName) !== "up") {
      await this.resync(venueName);
      return;
    }
    const open = [...this.records.values()].filter(
      (r) => r.order.venue === venueName && !TERMINAL.has(r.order.status) && r.placing !== true,
    );
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
        if (seen !== undefined) await this.ingestWithFills(venue, rec, seen);
      }
    } catch (err) {
      if (err instanceof VenueNetworkError || err instanceof VenueRateLimited) this.markDown(venueName, err);
      else this.noteError(venueName, err);
    }
  }

  private async adoptUnknown(venue: Venue, rec: Tracked): Promise<void> {
    const found = await venue.fetchOrder({ clientOrderId: rec.request.clientOrderId }, rec.request.symbol);
    if (found === undefined) {
      this.setOrder(rec, {
        ...rec.order,
        status: "rejected",
        reason: "the order never reached the venue",
        updatedAt: this.timeOf(rec.order.venue),
      });
      return;
    }
    rec.known = true;
    this.byVenueId.set(`${venue.name}|${found.order.id}`, rec);
    await this.ingestWithFills(venue, rec, found);
  }

  /**
   * Brings the venue back: loads markets if needed, resolves orders whose submit outcome is unknown,
   * adopts open orders we do not track, refreshes every tracked open order with its fills, reloads
   * balances; then marks the venue up. Concurrent calls share one pass.
   */
  resync(venueName: string): Promise<void> {
    const running = this.resyncs.get(venueName);
    if (running !== undefined) return running;
    const pass = this.doResync(venueName).finally(() => this.resyncs.delete(venueName));
    this.resyncs.set(venueName, pass);
    return pass;
  }

  private async doResync(venueName: string): Promise<void> {
    const venue = this.venue(venueName);
    const before = this.state(venueName);
    this.states.set(venueName, "resyncing");
    try {
      await venue.init();
      const open = await venue.fetchOpenOrders();
      const openIds = new Map(open.map((v) => [v.order.id, v]));
      for (const rec of [...this.records.values()]) {
        if (rec.order.venue !== venueName || TERMINAL.has(rec.order.status) || rec.placing === true) continue;
        if (!rec.known) {
          await this.adoptUnknown(venue, rec);
          continue;
        }
        const seen =
          openIds.get(rec.order.id) ?? (await venue.fetchOrder({ id: rec.order.id }, rec.order.symbol));
        if (seen !== undefined) await this.ingestWithFills(venue, rec, seen);
        else if (Date.now() - rec.order.createdAt > (this.o.staleOrderMs ?? STALE_ORDER_MS)) {
          this.setOrder(rec, {
            ...rec.order,
            status: "canceled",
            reason: `${venueName} no longer knows the order and it is older than ${Math.round((this.o.staleOrderMs ?? STALE_ORDER_MS) / 3_600_000)} h`,
            updatedAt: Date.now(),
          });
        }
      }
      for (const v of open) {
        if (this.byVenueId.has(`${venueName}|${v.order.id}`)) continue;
        // Ours, with its placement still in flight: the submit will record it.
        if (this.records.has(`${venueName}|${v.order.clientOrderId}`)) continue;
        await this.adopt(venue, v);
      }
      await this.fetchBalances(venueName);
      this.states.set(venueName, "up");
      if (before !== "up")
        this.o.logger.info({ venue: venueName, open: open.length }, "venue resynced; accepting orders");
    } catch (err) {
      this.states.set(venueName, before === "initializing" ? "initializing" : "down");
      this.noteError(venueName, err);
      throw err;
    }
  }

  /** Tracks an open order the venue has and we did not know (placed before a restart, or elsewhere). */
  private async adopt(venue: Venue, v: VenueOrder): Promise<void> {
    const o = v.order;
    const request: OrderRequest = {
      clientOrderId: o.clientOrderId.slice(0, 36),
      account: o.account,
      venue: venue.name,
      symbol: o.symbol,
      side: o.side,
      type: o.type,
      amount: o.amount,
      ...(o.price !== undefined ? { price: o.price } : {}),
      ...(o.stopPrice !== undefined ? { stopPrice: o.stopPrice } : {}),
    };
    const rec: Tracked = {
      request,
      order: o,
      known: true,
      fills: [],
      fillIds: new Set(),
      filledByFills: 0,
      lastPublished: "",
    };
    this.records.set(`${venue.name}|${request.clientOrderId}`, rec);
    this.byVenueId.set(`${venue.name}|${o.id}`, rec);
    await this.ingestWithFills(venue, rec, v);
  }
}

class UnknownOutcome extends Error {
  override name = "UnknownOutcome";
}

/** The request an order stands for (terms a reused client order id must repeat). */
function requestOf(o: Order): OrderRequest {
  return {
    clientOrderId: o.clientOrderId,
    account: o.account,
    venue: o.venue,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    amount: o.amount,
    ...(o.price !== undefined ? { price: o.price } : {}),
    ...(o.stopPrice !== undefined ? { stopPrice: o.stopPrice } : {}),
    ...(o.strategyId !== undefined ? { strategyId: o.strategyId } : {}),
  };
}

/** The strategy attribution an order request carries onto its order and fills (nothing for manual orders). */
const strategyOf = (r: OrderRequest): { strategyId?: string } =>
  r.strategyId !== undefined ? { strategyId: r.strategyId } : {};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
