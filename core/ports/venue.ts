import type { OrderBook, Ticker } from "../domain/market.ts";
import type { Fill, Order, OrderRequest } from "../domain/trading.ts";

/**
 * The port every venue adapter implements (the adapters live at the edge: hotpath/exchange's
 * paper-venue.ts and ccxt-venue.ts). The order manager speaks only this; venue
 * formats (ccxt's unified structures, Binance ids) stop at the adapter.
 *
 * Errors a venue throws are sorted by what the caller should do:
 * - VenueNetworkError: the request may or may not have reached the venue — reconcile before retrying.
 * - VenueRateLimited: the venue refused to look at the request (429/418) — safe to retry after `retryAfterMs`.
 * - VenueRejected: the venue looked and said no (bad symbol, precision, funds) — never retry.
 */
export class VenueNetworkError extends Error {
  override name = "VenueNetworkError";
}
export class VenueRateLimited extends Error {
  override name = "VenueRateLimited";
  constructor(
    message: string,
    readonly retryAfterMs: number,
    readonly banned: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
export class VenueRejected extends Error {
  override name = "VenueRejected";
}
export class VenueOrderNotFound extends Error {
  override name = "VenueOrderNotFound";
}

/** What the adapter knows of a market: precision and limits as the venue states them. */
export interface VenueMarket {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  /** Price tick (0.01) when the venue states one. */
  readonly tickSize?: number;
  /** Amount step (0.0001) when the venue states one. */
  readonly stepSize?: number;
  readonly minAmount?: number;
  readonly minNotional?: number;
  readonly maker: number;
  readonly taker: number;
}

export interface Balance {
  readonly free: number;
  readonly used: number;
  readonly total: number;
}

/** An order as the venue reports it, with the executions it reported alongside (if any). */
export interface VenueOrder {
  readonly order: Order;
  /** Executions known from this answer; the order manager dedups them by id. */
  readonly fills: readonly Fill[];
}

export interface VenueOrderRef {
  readonly id?: string;
  readonly clientOrderId?: string;
}

/** Pushed by venues that learn of changes themselves (paper); polled venues never call it. */
export type VenueListener = (update: VenueOrder) => void;

/**
 * What a venue can do, declared by the adapter; the order manager and the runtime branch on these,
 * never on the adapter's class.
 */
export interface VenueCapabilities {
  /**
   * The venue keeps orders and fills itself (a real exchange): an order's `order.submitted` is stored
   * before the venue sees it, and after a restart the venue is reconciled by client order id. False:
   * the venue's state lives in this process and is rebuilt from the event history (paper).
   */
  readonly remoteState: boolean;
  /** Order changes must be polled (and the venue resynced after outages); else they are pushed. */
  readonly polled: boolean;
  /** Every answer carries all of the order's fills, so `fetchOrderFills` is never needed. */
  readonly fillsInAnswers: boolean;
  /** How the venue is run: simulated here (paper), a real venue live or in its sandbox, an emulator, or public data only. */
  readonly mode: VenueMode;
}

export type VenueMode = "paper" | "live" | "sandbox" | "emulated" | "public_only";

/** A market-data stream of one symbol. */
export type StreamKind = "ticker" | "book" | "trade";

/** One public trade of a venue's tape. */
export interface TradePrint {
  venue: string;
  symbol: string;
  id: string;
  price: number;
  amount: number;
  side: "buy" | "sell";
  timestamp: number;
}

/**
 * The capability of a venue whose market data the exchange streams itself (ccxt: websocket where the
 * exchange has one, else polling). A venue without it publishes its own (the paper venue's feed).
 */
export interface MarketDataSource {
  /** True when `watch` can push updates of `kind` (a websocket); false: poll the fetch methods. */
  canWatch(kind: StreamKind): boolean;
  /** Waits for the next pushed update of `kind`. */
  watch(kind: StreamKind, symbol: string): Promise<Ticker | OrderBook | TradePrint[]>;
  fetchTicker(symbol: string): Promise<Ticker>;
  fetchOrderBook(symbol: string): Promise<OrderBook>;
  fetchTrades(symbol: string): Promise<TradePrint[]>;
}

export interface Venue {
  readonly name: string;
  readonly kind: "paper" | "ccxt";
  readonly capabilities: VenueCapabilities;
  /** Present when the exchange must stream this venue's market data itself. */
  readonly marketData?: MarketDataSource;
  /** False for a venue configured without API keys (public data only); absent means true. */
  readonly canTrade?: boolean;
  /** The venue's time, which its orders and fills are stamped with (paper: the market clock); absent: the wall clock. */
  time?(): number;
  /** Loads markets; must succeed before orders are accepted. */
  init(): Promise<void>;
  market(symbol: string): VenueMarket | undefined;
  symbols(): string[];
  placeOrder(request: OrderRequest): Promise<VenueOrder>;
  cancelOrder(ref: VenueOrderRef, symbol: string): Promise<VenueOrder>;
  /** undefined when the venue does not know the order. */
  fetchOrder(ref: VenueOrderRef, symbol: string): Promise<VenueOrder | undefined>;
  fetchOpenOrders(symbol?: string): Promise<VenueOrder[]>;
  /** Executions of one order (by venue id). */
  fetchOrderFills(orderId: string, symbol: string, clientOrderId: string, account: string): Promise<Fill[]>;
  fetchBalances(): Promise<Record<string, Balance>>;
  /** Balances known without I/O (paper); the order manager otherwise uses the last fetched ones. */
  balancesNow?(): Record<string, Balance>;
  fetchTicker(symbol: string): Promise<Ticker>;
  fetchOrderBook(symbol: string, depth?: number): Promise<OrderBook>;
  /** Venues that push order changes (paper) call the listener; others are polled. */
  onUpdate?(listener: VenueListener): void;
  /** Rate-limit state and recent request latency, for get_exchange_status. */
  health(): VenueHealth;
  close(): Promise<void>;
}

export interface VenueHealth {
  /** Absent for venues without a rate limit (paper). */
  readonly rateLimit?: {
    readonly tokens: number;
    readonly capacity: number;
    readonly refillPerSecond: number;
    readonly queued: number;
    /** Integer ms until which the venue told us to back off (429) or banned us (418); 0 when clear. */
    readonly blockedUntil: number;
    readonly banned: boolean;
    readonly throttledTotal: number;
  };
  readonly latencyMs: {
    readonly last?: number;
    readonly p50?: number;
    readonly p99?: number;
    readonly samples: number;
  };
  readonly lastError?: { readonly message: string; readonly at: number };
  readonly requests: number;
}
