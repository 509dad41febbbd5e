import { randomUUID } from "node:crypto";
import { z } from "zod";
import { OrderBook, Ticker } from "../../core/domain/market.ts";
import { AccountId, type Fill, type Order, OrderRequest, Side } from "../../core/domain/trading.ts";
import {
  clean,
  OrderWire,
  OrderWithFillsWire,
  type Precision,
  orderToWire,
  PositionWire,
  positionToWire,
  withFillsToWire,
} from "../../core/domain/wire.ts";
import { PreTradeResult } from "../../core/risk/pretrade.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { failure, invalidParams, rejected } from "../../core/tools/errors.ts";
import { defineTool, type Tool } from "../../core/tools/tool.ts";
import { roundToTick } from "../../core/market/tick.ts";
import { type ExecutedLeg, executedLeg, failedLeg, RouteOutput, routeResult } from "./route-result.ts";
import { planRoute, type VenueBook } from "./router.ts";
import type { ExchangeRuntime } from "./runtime.ts";
import { Amount } from "../../core/domain/bounds.ts";
import {
  type VenueHealth,
  VenueNetworkError,
  VenueRateLimited,
  VenueRejected,
} from "../../core/ports/venue.ts";
import { UnifiedSymbol as SymbolArg } from "../../core/domain/market.ts";
import { ClientOrderId, quickSubmitInput, SubmitOrderInput, Venue } from "./submit-input.ts";

/**
 * The exchange's tools. Inputs and outputs are snake_case; orders, fills and positions come back in
 * their wire shapes (core/domain/wire.ts: prices on the venue's tick, amounts on its step, integer ms
 * timestamps), tickers and books in the shared domain shapes of core/domain.
 */
const OrderRefFields = z.object({
  venue: Venue.optional(),
  order_id: z.string().min(1).optional(),
  client_order_id: ClientOrderId.optional(),
});
const hasRef = (r: z.infer<typeof OrderRefFields>) =>
  r.order_id !== undefined || r.client_order_id !== undefined;
const refMessage = () => ({ message: "give order_id or client_order_id", path: ["order_id"] });
const OrderRef = OrderRefFields.refine(hasRef, refMessage());
/** cancel_order changes state: an unknown (mistyped) field is refused, never ignored. */
const StrictOrderRef = OrderRefFields.strict().refine(hasRef, refMessage());
const StreamKindArg = z.enum(["ticker", "book", "trade"]);
const StreamStatus = z.object({
  venue: z.string(),
  symbol: z.string(),
  kind: StreamKindArg,
  mode: z.enum(["watch", "poll", "feed"]),
  state: z.enum(["starting", "up", "reconnecting", "down", "stopped"]),
  messages: z.number().int(),
  reconnects: z.number().int(),
  last_message_at: z.number().optional(),
  last_error: z.string().optional(),
});
const Pretrade = PreTradeResult.extend({ source: z.enum(["kv", "local"]) });
const OrderWithFills = OrderWithFillsWire;

const VenueStatus = z.object({
  exchange: z.string(),
  configured: z.boolean(),
  kind: z.enum(["paper", "ccxt", "none"]),
  mode: z.enum(["paper", "live", "sandbox", "emulated", "public_only", "not_configured"]),
  trading: z.boolean(),
  connection: z.enum(["up", "down", "resyncing", "initializing", "not_configured"]),
  message: z.string(),
  default_venue: z.string(),
  open_orders: z.number().int(),
  symbols: z.number().int(),
  streams: z.array(StreamStatus),
  rate_limit: z
    .object({
      tokens: z.number(),
      capacity: z.number(),
      refill_per_second: z.number(),
      queued: z.number().int(),
      blocked_until: z.number(),
      banned: z.boolean(),
      throttled_total: z.number().int(),
    })
    .optional(),
  latency_ms: z.object({
    last: z.number().optional(),
    p50: z.number().optional(),
    p99: z.number().optional(),
    samples: z.number().int(),
  }),
  last_error: z.object({ message: z.string(), at: z.number() }).optional(),
  requests: z.number().int(),
});

const rateLimitOut = (r: NonNullable<VenueHealth["rateLimit"]>) => ({
  tokens: r.tokens,
  capacity: r.capacity,
  refill_per_second: r.refillPerSecond,
  queued: r.queued,
  blocked_until: r.blockedUntil,
  banned: r.banned,
  throttled_total: r.throttledTotal,
});

export function exchangeTools(rt: ExchangeRuntime): Tool[] {
  const venueOf = (v: string | undefined) => v ?? rt.defaultVenue;
  /** The venue's tick and step for a symbol (none known: numbers are only cleaned of float noise). */
  const precision = (venue: string, symbol: string): Precision => {
    const m = rt.venues.get(venue)?.market(symbol);
    return { tickSize: m?.tickSize, stepSize: m?.stepSize };
  };
  const orderOut = (o: Order) => orderToWire(o, precision(o.venue, o.symbol));
  const withFillsOut = (r: { order: Order; fills: readonly Fill[] }) =>
    withFillsToWire(r, precision(r.order.venue, r.order.symbol));
  const wrapVenue = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof VenueRejected)
        throw failure(RpcCode.Rejected, "exchange", "exchange.rejected", err.message);
      if (err instanceof VenueRateLimited)
        throw failure(RpcCode.Rejected, "exchange", "exchange.rate_limited", err.message);
      if (err instanceof VenueNetworkError)
        throw failure(RpcCode.Upstream, "network", "network.error", `network: ${err.message}`);
      throw err;
    }
  };

  const status = (name: string): z.input<typeof VenueStatus> => {
    const venue = rt.venues.get(name);
    const base = { exchange: name, default_venue: rt.defaultVenue, streams: rt.streams.list(name) };
    if (venue === undefined) {
      return {
        ...base,
        configured: false,
        kind: "none",
        mode: "not_configured",
        trading: false,
        connection: "not_configured",
        message: `${name} is not configured: add it to EXCHANGE_VENUES with ${name.toUpperCase()}_API_KEY and ${name.toUpperCase()}_SECRET to trade on it; orders go to the ${rt.defaultVenue} venue (configured: ${[...rt.venues.keys()].join(", ")})`,
        open_orders: 0,
        symbols: 0,
        latency_ms: { samples: 0 },
        requests: 0,
      };
    }
    const cfg = rt.venueConfig.get(name);
    const health = venue.health();
    const state = rt.oms.state(name);
    // The latest of the order manager's and the adapter's own errors (a 418 the adapter just saw is
    // not hidden behind an older lookup error the manager noted).
    const managed = rt.oms.lastError(name);
    const adapter = health.lastError;
    const lastError =
      managed === undefined ? adapter : adapter === undefined || managed.at >= adapter.at ? managed : adapter;
    const mode = cfg?.mode ?? "paper";
    const message =
      mode === "paper"
        ? `paper venue: simulated market (${rt.paper.symbols().join(", ")}), fills by the shared fill model; ${rt.feed.bars} bars so far`
        : cfg?.trading !== true
          ? `${name} via ccxt (${mode}) has no API keys: market data only, orders refused`
          : `${name} via ccxt (${mode}); ${state === "up" ? "accepting orders" : `not accepting orders while ${state}`}`;
    return {
      ...base,
      configured: true,
      kind: venue.kind,
      mode,
      trading: cfg?.trading ?? false,
      connection: state,
      message,
      open_orders: rt.oms.list({ venue: name, open: true }).length,
      symbols: venue.symbols().length,
      ...(health.rateLimit !== undefined ? { rate_limit: rateLimitOut(health.rateLimit) } : {}),
      latency_ms: health.latencyMs,
      ...(lastError !== undefined ? { last_error: lastError } : {}),
      requests: health.requests,
    };
  };

  return [
    defineTool({
      name: "submit_order",
      description:
        "Submit an order: idempotent by client_order_id, checked in process against the risk snapshot, routed to the venue (default: paper). Order events are published for every state change.",
      input: SubmitOrderInput,
      quickInput: quickSubmitInput,
      output: OrderWithFills.extend({ pretrade: Pretrade }),
      handler: async (a, ctx) => {
        // The input is parsed above (symbol, side, type, positive amount and prices, id); a second full parse of
        // OrderRequest is only needed when its cross-field rule (limit needs price, stop needs stopPrice) may fail,
        // and then it gives the same issues as before.
        const request: OrderRequest = {
          clientOrderId: a.client_order_id ?? randomUUID(),
          account: a.account,
          venue: venueOf(a.venue),
          symbol: a.symbol,
          side: a.side,
          type: a.type,
          amount: a.amount,
          ...(a.price !== undefined ? { price: a.price } : {}),
          ...(a.stop_price !== undefined ? { stopPrice: a.stop_price } : {}),
          ...(a.strategy_id !== undefined ? { strategyId: a.strategy_id } : {}),
        };
        const needsPrice = (a.type === "limit" || a.type === "stop_limit") && a.price === undefined;
        const needsStop = (a.type === "stop" || a.type === "stop_limit") && a.stop_price === undefined;
        if (needsPrice || needsStop || request.venue === "") {
          const parsed = OrderRequest.safeParse(request);
          if (!parsed.success) throw invalidParams("invalid order", parsed.error);
        }
        const r = await rt.oms.submit(request, ctx.correlationId);
        return { ...withFillsOut(r), pretrade: r.pretrade };
      },
    }),
    defineTool({
      name: "cancel_order",
      description:
        "Cancel an open order by order_id or client_order_id (cancels jump the venue's rate-limit queue).",
      input: StrictOrderRef,
      output: z.object({ order: OrderWire }),
      handler: async (a) => {
        const ref = {
          ...(a.order_id !== undefined ? { id: a.order_id } : {}),
          ...(a.client_order_id !== undefined ? { clientOrderId: a.client_order_id } : {}),
        };
        return { order: orderOut(await rt.oms.cancel(venueOf(a.venue), ref)) };
      },
    }),
    defineTool({
      name: "get_order",
      description: "An order the service tracks, with its fills, by order_id or client_order_id.",
      input: OrderRef,
      output: OrderWithFills,
      handler: async (a) => {
        const venue = venueOf(a.venue);
        rt.oms.venue(venue);
        const ref = {
          ...(a.order_id !== undefined ? { id: a.order_id } : {}),
          ...(a.client_order_id !== undefined ? { clientOrderId: a.client_order_id } : {}),
        };
        const found = rt.oms.get(venue, ref);
        if (found === undefined) throw rejected(`no order ${a.order_id ?? a.client_order_id} on ${venue}`);
        return withFillsOut(found);
      },
    }),
    defineTool({
      name: "list_orders",
      description:
        "Orders the service tracks, newest last; filter by venue, symbol, account and open/closed.",
      input: z.object({
        venue: Venue.optional(),
        symbol: SymbolArg.optional(),
        account: AccountId.optional(),
        status: z.enum(["open", "closed", "all"]).default("all"),
        limit: z.number().int().positive().max(1000).default(100),
      }),
      output: z.object({ orders: z.array(OrderWire) }),
      handler: (a) => {
        const orders = rt.oms.list({
          ...(a.venue !== undefined ? { venue: a.venue } : {}),
          ...(a.symbol !== undefined ? { symbol: a.symbol } : {}),
          ...(a.account !== undefined ? { account: a.account } : {}),
          ...(a.status !== "all" ? { open: a.status === "open" } : {}),
        });
        return { orders: orders.slice(-a.limit).map(orderOut) };
      },
    }),
    defineTool({
      name: "get_balances",
      description: "Balances (free, used, total) per currency on a venue.",
      input: z.object({ venue: Venue.optional() }),
      output: z.object({
        venue: z.string(),
        balances: z.record(z.string(), z.object({ free: z.number(), used: z.number(), total: z.number() })),
      }),
      handler: async (a) => {
        const venue = venueOf(a.venue);
        const balances = await wrapVenue(() => rt.oms.fetchBalances(venue));
        const out: Record<string, { free: number; used: number; total: number }> = {};
        for (const [currency, b] of Object.entries(balances))
          out[currency] = { free: clean(b.free), used: clean(b.used), total: clean(b.total) };
        return { venue, balances: out };
      },
    }),
    defineTool({
      name: "get_positions",
      description:
        "Net positions built from the fills this service has seen: average cost, realised PnL after every fee paid (the open lot's entry fee included), fees, and unrealised PnL at the venue's last price (amount × (mark − average cost)) when one is known.",
      input: z.object({
        account: AccountId.optional(),
        venue: Venue.optional(),
        symbol: SymbolArg.optional(),
      }),
      output: z.object({ positions: z.array(PositionWire) }),
      handler: (a) => ({
        positions: rt.oms.positions.ledger
          .marked((symbol, venue) => rt.oms.price(venue, symbol), {
            ...(a.account !== undefined ? { account: a.account } : {}),
            ...(a.venue !== undefined ? { venue: a.venue } : {}),
            ...(a.symbol !== undefined ? { symbol: a.symbol } : {}),
          })
          .map((q) => positionToWire(q, precision(q.venue, q.symbol))),
      }),
    }),
    defineTool({
      name: "get_ticker",
      description: "Best bid/ask and last price of a symbol on a venue.",
      input: z.object({ venue: Venue.optional(), symbol: SymbolArg }),
      output: Ticker,
      handler: async (a) => {
        const venue = rt.oms.venue(venueOf(a.venue));
        const t = await wrapVenue(() => venue.fetchTicker(a.symbol));
        rt.oms.setPrice(venue.name, a.symbol, t.last);
        return t;
      },
    }),
    defineTool({
      name: "get_order_book",
      description: "Order book snapshot (bids descending, asks ascending) of a symbol on a venue.",
      input: z.object({
        venue: Venue.optional(),
        symbol: SymbolArg,
        depth: z.number().int().positive().max(500).default(20),
      }),
      output: OrderBook,
      handler: async (a) => {
        const venue = rt.oms.venue(venueOf(a.venue));
        return wrapVenue(() => venue.fetchOrderBook(a.symbol, a.depth));
      },
    }),
    defineTool({
      name: "get_exchange_status",
      description:
        "Connection and stream state, rate-limit state, last error and recent latency of one venue (or of all, without `exchange`). Answers for venues that are not configured too.",
      input: z.object({ exchange: Venue.optional() }),
      output: z.union([VenueStatus, z.object({ venues: z.array(VenueStatus) })]),
      handler: (a) =>
        a.exchange !== undefined ? status(a.exchange) : { venues: [...rt.venues.keys()].map(status) },
    }),
    defineTool({
      name: "route_order",
      description:
        "Smart order routing: split an amount across venues' books by all-in price after taker fees. Plans only unless execute=true, which submits one limit order per leg at the leg's worst level price.",
      input: z
        .object({
          symbol: SymbolArg,
          side: Side,
          amount: Amount,
          venues: z.array(Venue).min(1).optional(),
          execute: z.boolean().default(false),
          client_order_id: z
            .string()
            .regex(/^[A-Za-z0-9._:-]{1,32}$/, "1–32 characters (legs append -<n>)")
            .optional(),
          account: AccountId.default("default"),
        })
        .strict(),
      output: RouteOutput,
      handler: async (a, ctx) => {
        const names = a.venues ?? [...rt.venues.keys()].filter((n) => rt.venues.get(n)?.canTrade !== false);
        const books: VenueBook[] = [];
        const skipped: { venue: string; reason: string }[] = [];
        for (const name of names) {
          const venue = rt.oms.venue(name);
          const market = venue.market(a.symbol);
          if (market === undefined) {
            skipped.push({ venue: name, reason: `no market ${a.symbol}` });
            continue;
          }
          try {
            const book = await venue.fetchOrderBook(a.symbol, 50);
            books.push({
              venue: name,
              book,
              takerFee: market.taker,
              ...(market.stepSize !== undefined ? { stepSize: market.stepSize } : {}),
            });
          } catch (err) {
            skipped.push({ venue: name, reason: err instanceof Error ? err.message : String(err) });
          }
        }
        const plan = planRoute(a.side, a.amount, books);
        if (!a.execute) return routeResult(a.amount, plan, plan.legs, skipped, false);
        const base = a.client_order_id ?? randomUUID().replaceAll("-", "").slice(0, 24);
        const legs: ExecutedLeg[] = [];
        for (const [i, leg] of plan.legs.entries()) {
          const tick = rt.oms.venue(leg.venue).market(a.symbol)?.tickSize;
          // A buy may pay up to the worst level, a sell accept down to it: round away from the book.
          const price =
            tick === undefined
              ? leg.worstPrice
              : roundToTick(leg.worstPrice, tick, a.side === "buy" ? "up" : "down");
          try {
            const r = await rt.oms.submit(
              {
                clientOrderId: `${base}-${i + 1}`,
                account: a.account,
                venue: leg.venue,
                symbol: a.symbol,
                side: a.side,
                type: "limit",
                amount: leg.amount,
                price,
              },
              ctx.correlationId,
            );
            legs.push(executedLeg(leg, price, withFillsOut(r)));
          } catch (err) {
            legs.push(failedLeg(leg, price, err));
          }
        }
        return routeResult(a.amount, plan, legs, skipped, true);
      },
    }),
    defineTool({
      name: "subscribe_market",
      description:
        "Stream tickers, books and/or trades of a symbol to the MARKET stream (ccxt.pro websockets where available, REST polling otherwise; reconnect with backoff up to MAX_RECONNECT_ATTEMPTS, then a stream.down event).",
      input: z
        .object({
          venue: Venue.optional(),
          symbol: SymbolArg,
          kinds: z.array(StreamKindArg).min(1).default(["ticker", "book"]),
        })
        .strict(),
      output: z.object({ streams: z.array(StreamStatus) }),
      handler: (a) => {
        const venue = rt.oms.venue(venueOf(a.venue));
        if (venue.market(a.symbol) === undefined && venue.symbols().length > 0) {
          throw rejected(`unknown symbol ${a.symbol} on venue ${venue.name}`);
        }
        return { streams: rt.streams.subscribe(venue.name, a.symbol, a.kinds) };
      },
    }),
    defineTool({
      name: "unsubscribe_market",
      description: "Stop market streams of a symbol.",
      input: z
        .object({
          venue: Venue.optional(),
          symbol: SymbolArg,
          kinds: z.array(StreamKindArg).min(1).default(["ticker", "book", "trade"]),
        })
        .strict(),
      output: z.object({ streams: z.array(StreamStatus) }),
      handler: (a) => ({ streams: rt.streams.unsubscribe(venueOf(a.venue), a.symbol, a.kinds) }),
    }),
  ] as Tool[];
}
