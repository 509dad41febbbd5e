import { preTradeRefusal } from "../../core/compliance/pretrade.ts";
import type { Fill, Order, OrderRequest } from "../../core/domain/trading.ts";
import {
  type Venue,
  VenueNetworkError,
  type VenueOrder,
  VenueRateLimited,
  VenueRejected,
} from "../../core/ports/venue.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { type PreTradeResult, preTradeCheck } from "../../core/risk/pretrade.ts";
import { rejected, ToolError } from "../../core/tools/errors.ts";
import type { OmsContext } from "./oms-context.ts";
import { marketIssues, termsConflict } from "./order-checks.ts";
import { recordKey, strategyOf, type Tracked, tracked } from "./order-records.ts";
import { TERMINAL } from "../../core/domain/order-state.ts";
import { NotDurable } from "./publisher.ts";
import type { SnapshotSource } from "./risk-source.ts";

/**
 * Submitting an order: refused while the event bus cannot store events (fail closed); idempotent by
 * (venue, clientOrderId) — a repeat with the same terms returns the order, a repeat with other terms
 * is refused naming the field; validated against the venue's market (order-checks.ts); checked by
 * compliance and the in-process pre-trade check; published `order.submitted` (stored before the venue
 * sees the order when the venue keeps state itself); placed; answered only once every event of the
 * order is stored. A placement that fails on the network is reconciled by querying the venue for the
 * client order id BEFORE any retry: found → tracked as is (never placed twice); confirmed absent →
 * placed again (once); venue unreachable → the order stays `submitted` and the venue is marked down,
 * so the resync finds it.
 */
export interface SubmitResult {
  order: Order;
  fills: Fill[];
  pretrade: PreTradeResult & { source: SnapshotSource };
}

type Pretrade = SubmitResult["pretrade"];

export class Submitter {
  private readonly pending = new Map<string, Promise<SubmitResult>>();

  constructor(private readonly c: OmsContext) {}

  /** `correlationId` (the tool call's) is carried by every event of the order. */
  submit(request: OrderRequest, correlationId?: string): Promise<SubmitResult> {
    const key = recordKey(request.venue, request.clientOrderId);
    const rec = this.c.records.byClient(request.venue, request.clientOrderId);
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
    const existing = this.pending.get(key);
    if (existing !== undefined) return existing;
    if (rec !== undefined) return this.replay(rec);
    if (!this.c.o.publisher.available) {
      return Promise.reject(
        new ToolError(
          RpcCode.AgentUnavailable,
          "the event bus (NATS JetStream) is unavailable: orders are refused until their events can be stored",
          { bus: "down" },
        ),
      );
    }
    const pending = this.doSubmit(request, correlationId);
    this.pending.set(key, pending);
    const forget = () => {
      if (this.pending.get(key) === pending) this.pending.delete(key);
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
    const { snapshot, source } = this.c.o.risk.snapshot(rec.request.account);
    const pretrade = { ...preTradeCheck(rec.request, snapshot), source };
    return { order: rec.order, fills: [...rec.fills], pretrade };
  }

  /** Waits until every event queued so far (this order's included) is stored; 503 otherwise. */
  private async durable(rec: Tracked): Promise<void> {
    try {
      await this.c.o.publisher.durable(this.c.o.durableTimeoutMs);
    } catch (err) {
      if (!(err instanceof NotDurable)) throw err;
      throw new ToolError(
        RpcCode.AgentUnavailable,
        `the event bus (NATS JetStream) has not stored the events of order ${rec.request.clientOrderId} yet; they are kept and retried — ask again with the same client_order_id for its outcome`,
        { bus: "down", order: rec.order },
      );
    }
  }

  /** The venue, if it takes orders now; else the refusal. */
  private tradingVenue(request: OrderRequest): Venue {
    const venue = this.c.venue(request.venue);
    if (venue.canTrade === false) {
      throw rejected(`${venue.name} has no API keys configured: it serves market data only`, {
        venue: venue.name,
      });
    }
    const state = this.c.states.state(venue.name);
    if (state !== "up") {
      throw new ToolError(
        RpcCode.AgentUnavailable,
        `venue ${venue.name} is ${state}: orders are accepted again once it has resynced open orders, fills and balances`,
        { venue: venue.name, state },
      );
    }
    const issues = marketIssues(
      request,
      venue.market(request.symbol),
      this.c.price(venue.name, request.symbol),
    );
    if (issues.length > 0) {
      throw new ToolError(
        RpcCode.InvalidParams,
        `order refused before sending: ${issues.map((i) => i.message).join("; ")}`,
        { issues },
      );
    }
    return venue;
  }

  private async doSubmit(request: OrderRequest, correlationId?: string): Promise<SubmitResult> {
    const venue = this.tradingVenue(request);
    const { snapshot, source } = this.c.o.risk.snapshot(request.account);
    const check = preTradeCheck(
      {
        symbol: request.symbol,
        side: request.side,
        amount: request.amount,
        price: request.price ?? request.stopPrice ?? this.c.price(venue.name, request.symbol),
      },
      snapshot,
    );
    const pretrade = { ...check, source };
    const order = submittedOrder(request, venue.name, this.c.timeOf(venue.name));
    const rec = tracked(request, order, false, "", correlationId);
    this.c.records.add(rec);
    const refused = this.refuseUnlessAllowed(rec, pretrade);
    if (refused !== undefined) await refused;
    this.c.updates.setOrder(rec, order);
    const answer = await this.placeTracked(venue, rec);
    rec.known = true;
    this.c.records.link(rec, answer.order.id);
    if (answer.order.status !== "accepted" && answer.order.status !== "rejected") {
      this.c.updates.setOrder(rec, {
        ...rec.order,
        id: answer.order.id,
        status: "accepted",
        updatedAt: answer.order.createdAt,
      });
    }
    const fetching = this.c.updates.ingestWithFills(venue, rec, answer);
    if (fetching !== undefined) await fetching;
    await this.durable(rec);
    return { order: rec.order, fills: [...rec.fills], pretrade };
  }

  /**
   * Compliance, then the pre-trade check: a refusal is recorded as a rejected order and thrown (a
   * pre-trade one once stored: the promise returned rejects). Undefined when the order may go on, so
   * the order path does not wait a turn for nothing.
   */
  private refuseUnlessAllowed(rec: Tracked, pretrade: Pretrade): Promise<never> | undefined {
    const { request, order } = rec;
    const compliance = this.c.o.compliance;
    const refusal =
      compliance && preTradeRefusal(request, this.c.price(order.venue, request.symbol), compliance);
    if (refusal !== undefined) {
      this.c.updates.setOrder(rec, { ...order, status: "rejected", reason: refusal.message });
      throw rejected(refusal.message, {
        cause: "compliance",
        code: "compliance.refused",
        violations: refusal.violations,
        order: rec.order,
      });
    }
    if (!pretrade.approved) {
      const reason = `pre-trade check failed: ${pretrade.reasons.map((r) => r.message).join("; ")}`;
      this.c.updates.setOrder(rec, { ...order, status: "rejected", reason });
      return this.riskRefused(rec, reason, pretrade);
    }
    return undefined;
  }

  /** The pre-trade refusal, thrown once the rejected order is stored. */
  private async riskRefused(rec: Tracked, reason: string, pretrade: Pretrade): Promise<never> {
    await this.durable(rec);
    throw rejected(reason, {
      cause: "risk",
      code: "risk.refused",
      reasons: pretrade.reasons,
      order: rec.order,
      source: pretrade.source,
    });
  }

  /**
   * Places a recorded order. Until the venue has answered, polls and resyncs leave the order alone: a
   * resync running while `order.submitted` is being stored would otherwise look the order up, find
   * nothing, settle it `rejected`, and the placement would then bring `accepted` after it.
   */
  private async placeTracked(venue: Venue, rec: Tracked): Promise<VenueOrder> {
    rec.placing = true;
    try {
      // A venue that keeps orders itself must never hold an order the history does not know of.
      if (venue.capabilities.remoteState) await this.durable(rec);
      return await this.place(venue, rec.request);
    } catch (err) {
      return await this.placementFailed(venue, rec, err);
    } finally {
      rec.placing = false;
    }
  }

  private async placementFailed(venue: Venue, rec: Tracked, err: unknown): Promise<never> {
    if (err instanceof VenueRejected || err instanceof VenueRateLimited) {
      const limited = err instanceof VenueRateLimited;
      const reason = limited ? `rate limited by ${venue.name}: ${err.message}` : err.message;
      this.c.updates.setOrder(rec, {
        ...rec.order,
        status: "rejected",
        reason,
        updatedAt: this.c.timeOf(venue.name),
      });
      await this.durable(rec);
      throw rejected(`${venue.name} rejected the order: ${reason}`, {
        cause: "exchange",
        code: limited ? "exchange.rate_limited" : "exchange.rejected",
        order: rec.order,
      });
    }
    if (err instanceof UnknownOutcome) {
      this.c.states.markDown(venue.name, err);
      throw new ToolError(
        RpcCode.AgentUnavailable,
        `${venue.name} did not answer; the order's fate is unknown and will be reconciled by client order id ${rec.request.clientOrderId} when the venue is back`,
        { order: rec.order },
      );
    }
    throw err;
  }

  /** Places an order; on a network failure asks the venue for the client order id before any retry. */
  private async place(venue: Venue, request: OrderRequest): Promise<VenueOrder> {
    for (let placement = 0; ; placement++) {
      try {
        return await venue.placeOrder(request);
      } catch (err) {
        if (!(err instanceof VenueNetworkError)) throw err;
        this.c.states.noteError(venue.name, err);
        const found = await this.reconcile(venue, request);
        if (found === "unknown") throw new UnknownOutcome(err.message, { cause: err });
        if (found !== undefined) return found;
        if (placement >= 1) throw new UnknownOutcome(`placing failed twice: ${err.message}`, { cause: err });
        this.c.o.logger.warn(
          { venue: venue.name, clientOrderId: request.clientOrderId },
          "order never reached the venue; placing it again",
        );
      }
    }
  }

  private async reconcile(venue: Venue, request: OrderRequest): Promise<VenueOrder | undefined | "unknown"> {
    const attempts = this.c.o.reconcileAttempts ?? 4;
    const delay = this.c.o.reconcileDelayMs ?? 100;
    for (let i = 0; i < attempts; i++) {
      try {
        return await venue.fetchOrder({ clientOrderId: request.clientOrderId }, request.symbol);
      } catch (err) {
        if (err instanceof VenueRejected) throw err;
        this.c.states.noteError(venue.name, err);
        await sleep(delay * 2 ** i);
      }
    }
    return "unknown";
  }
}

class UnknownOutcome extends Error {
  override name = "UnknownOutcome";
}

/** The order a request becomes when it is recorded, before the venue sees it. */
function submittedOrder(request: OrderRequest, venue: string, now: number): Order {
  return {
    id: request.clientOrderId,
    clientOrderId: request.clientOrderId,
    account: request.account,
    venue,
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
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
