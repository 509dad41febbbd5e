import { type PreTradeLimits, preTradeRefusal } from "../../core/compliance/pretrade.ts";
import type { Fill, Order, OrderRequest } from "../../core/domain/trading.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { type PreTradeResult, preTradeCheck } from "../../core/risk/pretrade.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import { rejected, ToolError } from "../../core/tools/errors.ts";
import { PositionBook } from "./positions.ts";
import type { Publisher } from "./publisher.ts";
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
 * submit: idempotent by (venue, clientOrderId) — a repeat returns the first answer; validated against
 * the venue's market (symbol, step, tick, minimums) before anything is sent; checked by the in-process
 * pre-trade check against the current risk snapshot; published `order.submitted`; placed. A placement
 * that fails on the network is reconciled by querying the venue for the client order id BEFORE any
 * retry: found → tracked as is (never placed twice); confirmed absent → placed again (once); venue
 * unreachable → the order stays tracked as `submitted` and the venue is marked down, so the resync
 * finds it.
 *
 * Every state change of an order (status, filled) is published once; every fill once (by venue trade
 * id), each followed by the position it changes. Venues that push (paper) feed `ingest` directly;
 * polled venues (ccxt) are polled by `poll`. After an outage (`markDown`), `resync` reloads open
 * orders, adopts orders the venue has that we do not track, fetches the fills of every order whose
 * filled amount moved, reloads balances, and only then marks the venue up again; until then submits
 * to it are refused.
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

const TERMINAL = new Set(["filled", "canceled", "rejected", "expired"]);
const STABLE = new Set(["USDT", "USDC", "USD", "BUSD", "FDUSD", "DAI", "TUSD"]);
const isMultiple = (value: number, step: number) => {
  const units = value / step;
  return Math.abs(units - Math.round(units)) <= 1e-8 * Math.max(1, Math.abs(units));
};

export class OrderManager {
  private readonly records = new Map<string, Tracked>();
  private readonly byVenueId = new Map<string, Tracked>();
  private readonly submissions = new Map<string, Promise<SubmitResult>>();
  readonly positions = new PositionBook();
  private readonly states = new Map<string, VenueState>();
  private readonly lastErrors = new Map<string, { message: string; at: number }>();
  private readonly balances = new Map<string, Record<string, Balance>>();
  private readonly prices = new Map<string, number>();
  private readonly resyncs = new Map<string, Promise<void>>();

  constructor(private readonly o: OmsOptions) {
    for (const [name, venue] of o.venues) {
      this.states.set(name, venue.kind === "paper" ? "up" : "initializing");
      venue.onUpdate?.((update) => {
        const rec = this.byVenueId.get(`${name}|${update.order.id}`);
        if (rec !== undefined) this.ingest(rec, update);
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
    return this.states.get(venue) ?? "down";
  }

  lastError(venue: string): { message: string; at: number } | undefined {
    return this.lastErrors.get(venue);
  }

  /** Latest price of a symbol, from any venue (tickers, books, the paper feed). */
  setPrice(venue: string, symbol: string, price: number): void {
    const key = `${venue}|${symbol}`;
    if (this.prices.get(key) !== price) {
      this.prices.set(key, price);
      this.prices.set(`*|${symbol}`, price);
      this.o.risk.invalidate();
    }
  }

  price(venue: string, symbol: string): number | undefined {
    return this.prices.get(`${venue}|${symbol}`) ?? this.prices.get(`*|${symbol}`);
  }

  // ── submit ──────────────────────────────────────────────────────────────────────────────────────

  /** `correlationId` (the tool call's) is carried by every event of the order. */
  submit(request: OrderRequest, correlationId?: string): Promise<SubmitResult> {
    const key = `${request.venue}|${request.clientOrderId}`;
    const existing = this.submissions.get(key);
    if (existing !== undefined) return existing;
    const rec = this.records.get(key);
    if (rec !== undefined) return this.replay(rec);
    const pending = this.doSubmit(key, request, correlationId);
    this.submissions.set(key, pending);
    // Refusals before anything was recorded (venue down, bad market fit) and unknown outcomes are not
    // final: a retry with the same client order id is evaluated afresh (or replayed from the record).
    pending.catch(() => {
      const rec = this.records.get(key);
      if (rec === undefined || (!rec.known && !TERMINAL.has(rec.order.status))) this.submissions.delete(key);
    });
    return pending;
  }

  /** A repeat of a submit whose first answer was "unknown" (or an adopted order): its state now. */
  private async replay(rec: Tracked): Promise<SubmitResult> {
    if (!rec.known && !TERMINAL.has(rec.order.status)) {
      throw new ToolError(
        RpcCode.AgentUnavailable,
        `order ${rec.request.clientOrderId} is being reconciled with ${rec.order.venue}`,
        {
          order: rec.order,
        },
      );
    }
    const { snapshot, source } = this.o.risk.snapshot(rec.request.account);
    const pretrade = { ...preTradeCheck(rec.request, snapshot), source };
    return { order: rec.order, fills: [...rec.fills], pretrade };
  }

  /** The market checks a venue would reject an order for; empty when the order fits. */
  validate(request: OrderRequest, market: VenueMarket | undefined): { path: string; message: string }[] {
    if (market === undefined) {
      return [{ path: "symbol", message: `unknown symbol ${request.symbol} on venue ${request.venue}` }];
    }
    const issues: { path: string; message: string }[] = [];
    if (market.stepSize !== undefined && !isMultiple(request.amount, market.stepSize)) {
      issues.push({
        path: "amount",
        message: `amount ${request.amount} is not a multiple of the step size ${market.stepSize}`,
      });
    }
    if (market.minAmount !== undefined && request.amount < market.minAmount) {
      issues.push({
        path: "amount",
        message: `amount ${request.amount} is below the minimum ${market.minAmount}`,
      });
    }
    for (const field of ["price", "stopPrice"] as const) {
      const value = request[field];
      if (value !== undefined && market.tickSize !== undefined && !isMultiple(value, market.tickSize)) {
        issues.push({
          path: field,
          message: `${field} ${value} is not a multiple of the tick size ${market.tickSize}`,
        });
      }
    }
    const reference = request.price ?? request.stopPrice ?? this.price(request.venue, request.symbol);
    if (
      market.minNotional !== undefined &&
      reference !== undefined &&
      request.amount * reference < market.minNotional
    ) {
      issues.push({
        path: "amount",
        message: `notional ${(request.amount * reference).toFixed(8)} is below the minimum ${market.minNotional}`,
      });
    }
    return issues;
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
        {
          issues,
        },
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
    const now = Date.now();
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
      throw rejected(reason, {
        cause: "risk",
        code: "risk.refused",
        reasons: check.reasons,
        order: rec.order,
        source,
      });
    }
    this.setOrder(rec, order);

    let answer: VenueOrder | undefined;
    rec.placing = true;
    try {
      answer = await this.place(venue, request);
    } catch (err) {
      rec.placing = false;
      if (err instanceof VenueRejected || err instanceof VenueRateLimited) {
        const reason =
          err instanceof VenueRateLimited ? `rate limited by ${venue.name}: ${err.message}` : err.message;
        this.setOrder(rec, { ...rec.order, status: "rejected", reason, updatedAt: Date.now() });
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

  private setOrder(rec: Tracked, order: Order): void {
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
    if (missing > 1e-12 && venue.kind !== "paper") {
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
    let equity = 0;
    const all = new Map(this.balances);
    for (const [name, venue] of this.o.venues) {
      const now = venue.balancesNow?.();
      if (now !== undefined) all.set(name, now);
    }
    for (const [venueName, balances] of all) {
      for (const [ccy, b] of Object.entries(balances)) {
        if (STABLE.has(ccy)) equity += b.total;
        else {
          const p = this.price(venueName, `${ccy}/USDT`);
          if (p !== undefined) equity += b.total * p;
        }
      }
    }
    const positions: Record<string, { amount: number; mark: number }> = {};
    const marks: Record<string, number> = {};
    for (const p of this.positions.list({ account })) {
      const mark = this.price(p.venue, p.symbol) ?? p.averagePrice;
      if (p.amount === 0 || !(mark > 0)) continue;
      const prev = positions[p.symbol];
      positions[p.symbol] = { amount: (prev?.amount ?? 0) + p.amount, mark };
    }
    for (const [key, price] of this.prices) {
      if (key.startsWith("*|")) marks[key.slice(2)] = price;
    }
    return { equity, positions, marks };
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
        updatedAt: Date.now(),
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

/** The strategy attribution an order request carries onto its order and fills (nothing for manual orders). */
const strategyOf = (r: OrderRequest): { strategyId?: string } =>
  r.strategyId !== undefined ? { strategyId: r.strategyId } : {};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
