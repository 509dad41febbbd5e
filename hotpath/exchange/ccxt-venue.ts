import ccxt, {
  type Exchange,
  type MarketInterface,
  type Order as CcxtOrder,
  type Trade as CcxtTrade,
} from "ccxt";
import type { OrderBook, Ticker } from "../../core/domain/market.ts";
import type { Fill, Order, OrderRequest, OrderStatus, OrderType } from "../../core/domain/trading.ts";
import { LatencyWindow } from "./latency.ts";
import { retryAfterMs, TokenBucket } from "./rate-limit.ts";
import {
  type Balance,
  type MarketDataSource,
  type TradePrint,
  type Venue,
  type VenueHealth,
  type VenueMarket,
  type VenueCapabilities,
  type VenueMode,
  VenueNetworkError,
  type VenueOrder,
  type VenueOrderRef,
  VenueOrderNotFound,
  VenueRateLimited,
  VenueRejected,
} from "../../core/ports/venue.ts";

/**
 * A venue adapter over any ccxt exchange class. ccxt's own throttle is switched off: this adapter's
 * token bucket (refilled at ccxt's `rateLimit`) paces requests, cancels jump the queue, and the
 * venue's 429/418 answers with their Retry-After pause every request (a hook on ccxt's
 * `onRestResponse` sees the status and headers of every answer).
 *
 * ccxt's errors are translated once, here: DDoSProtection (429/418) → VenueRateLimited (retried after
 * the pause, up to `maxRateLimitRetries`); NetworkError and OperationFailed (timeouts, dropped
 * connections, 5xx) → VenueNetworkError (the caller reconciles, never blindly retries a placement);
 * OrderNotFound → VenueOrderNotFound; everything else → VenueRejected.
 */
export interface CcxtVenueOptions {
  /** The venue's name in Bot4 (subject token), e.g. "binance". */
  name: string;
  /** The ccxt class id, e.g. "binance". */
  exchangeId: string;
  apiKey?: string;
  secret?: string;
  password?: string;
  /** ccxt sandbox mode (BINANCE_TESTNET=true). */
  sandbox?: boolean;
  /** Replaces the origin of every `urls.api` entry (tests point ccxt at the emulator). */
  apiBaseUrl?: string;
  /** Replaces ccxt.pro's websocket base URLs (`urls.api.ws.*`); without it an `apiBaseUrl` disables watching. */
  wsBaseUrl?: string;
  timeoutMs?: number;
  /** Token bucket burst; default 10. */
  burst?: number;
  /** Default: 1000 / exchange.rateLimit. */
  refillPerSecond?: number;
  maxRateLimitRetries?: number;
  /** Extra ccxt options. */
  ccxtOptions?: Record<string, unknown>;
}

type ExchangeClass = new (config: Record<string, unknown>) => Exchange;

export function ccxtExchangeIds(): string[] {
  return ccxt.exchanges;
}

function exchangeClass(id: string): ExchangeClass {
  const cls = (ccxt as unknown as Record<string, unknown>)[id];
  if (typeof cls !== "function" || !ccxt.exchanges.includes(id))
    throw new Error(`ccxt has no exchange "${id}"`);
  return cls as ExchangeClass;
}

const statusOf = (o: CcxtOrder): OrderStatus => {
  const filled = o.filled ?? 0;
  switch (o.status) {
    case "open":
      return filled > 0 ? "partially_filled" : "accepted";
    case "closed":
      return "filled";
    case "canceled":
      return "canceled";
    case "expired":
      return filled > 0 && filled >= (o.amount ?? 0) ? "filled" : "expired";
    case "rejected":
      return "rejected";
    default:
      return "accepted";
  }
};

const typeOf = (t: string | undefined): OrderType => {
  switch (t) {
    case "market":
      return "market";
    case "stop_loss":
    case "stop":
    case "take_profit":
    case "stop_market":
      return "stop";
    case "stop_loss_limit":
    case "stop_limit":
    case "take_profit_limit":
      return "stop_limit";
    default:
      return "limit";
  }
};

const positiveOr = (x: number | undefined, fallback?: number) =>
  x !== undefined && Number.isFinite(x) && x > 0 ? x : fallback;

/** How a ccxt venue is run, from its options: an API URL override is an emulator; no keys, public data only. */
function modeOf(o: CcxtVenueOptions): VenueMode {
  if (o.apiBaseUrl !== undefined) return "emulated";
  if ((o.apiKey ?? "") === "" || (o.secret ?? "") === "") return "public_only";
  return o.sandbox === true ? "sandbox" : "live";
}

export class CcxtVenue implements Venue, MarketDataSource {
  readonly kind = "ccxt" as const;
  readonly capabilities: VenueCapabilities;
  /** The exchange streams a ccxt venue's market data itself (watch or poll). */
  readonly marketData: MarketDataSource = this;
  readonly name: string;
  readonly exchange: Exchange;
  private readonly bucket: TokenBucket;
  private readonly latency = new LatencyWindow(256);
  private readonly maxRetries: number;
  private lastError: { message: string; at: number } | undefined;
  private requests = 0;
  private loaded = false;
  private pro: Exchange | undefined;

  constructor(readonly options: CcxtVenueOptions) {
    this.name = options.name;
    this.capabilities = { remoteState: true, polled: true, fillsInAnswers: false, mode: modeOf(options) };
    const Cls = exchangeClass(options.exchangeId);
    const config = this.ccxtConfig();
    this.exchange = new Cls(config);
    if (options.sandbox === true) this.exchange.setSandboxMode(true);
    if (options.apiBaseUrl !== undefined) overrideApiUrls(this.exchange, options.apiBaseUrl);
    const rateLimitMs = (this.exchange.rateLimit ?? 0) > 0 ? (this.exchange.rateLimit as number) : 100;
    this.bucket = new TokenBucket({
      capacity: options.burst ?? 10,
      refillPerSecond: options.refillPerSecond ?? 1000 / rateLimitMs,
    });
    this.maxRetries = options.maxRateLimitRetries ?? 5;
    const original = this.exchange.onRestResponse.bind(this.exchange);
    this.exchange.onRestResponse = (status, statusText, url, method, headers, body, reqHeaders, reqBody) => {
      if (status === 429 || status === 418) {
        const h = headers as Record<string, string | undefined>;
        const wait = retryAfterMs(h["Retry-After"], status === 418 ? 60_000 : 1_000);
        this.bucket.penalize(wait, status === 418);
      }
      return original(status, statusText, url, method, headers, body, reqHeaders, reqBody);
    };
  }

  /** The constructor config of the REST (and websocket) instance: keys, timeout, options. */
  private ccxtConfig(): Record<string, unknown> {
    const options = this.options;
    const config: Record<string, unknown> = {
      enableRateLimit: false,
      timeout: options.timeoutMs ?? 10_000,
      options: {
        ...(options.exchangeId.startsWith("binance")
          ? {
              fetchMarkets: { types: ["spot"] },
              fetchCurrencies: false,
              fetchMargins: false,
              warnOnFetchOpenOrdersWithoutSymbol: false,
            }
          : {}),
        ...options.ccxtOptions,
      },
    };
    if (options.apiKey !== undefined) config.apiKey = options.apiKey;
    if (options.secret !== undefined) config.secret = options.secret;
    if (options.password !== undefined) config.password = options.password;
    return config;
  }

  /** True when the adapter has keys to trade with. */
  get hasCredentials(): boolean {
    return (this.options.apiKey ?? "") !== "" && (this.options.secret ?? "") !== "";
  }

  get canTrade(): boolean {
    return this.hasCredentials;
  }

  private async call<T>(lane: "cancel" | "normal", fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await this.bucket.take(lane);
      const started = performance.now();
      this.requests += 1;
      try {
        const out = await fn();
        this.latency.record(performance.now() - started);
        return out;
      } catch (err) {
        this.latency.record(performance.now() - started);
        const e = this.translate(err);
        // "No such order" is the venue's answer to a lookup, not a fault of the venue: it must not hide
        // the venue's real last error (a lookup in flight when a 418 ban lands answers right after it).
        if (!(e instanceof VenueOrderNotFound)) this.lastError = { message: e.message, at: Date.now() };
        if (e instanceof VenueRateLimited && attempt < this.maxRetries) continue;
        throw e;
      }
    }
  }

  private translate(err: unknown): Error {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof ccxt.DDoSProtection) {
      const banned = / 418 /.test(message);
      const state = this.bucket.state();
      return new VenueRateLimited(message, Math.max(0, state.blockedUntil - Date.now()), banned, {
        cause: err,
      });
    }
    if (err instanceof ccxt.OrderNotFound) return new VenueOrderNotFound(message, { cause: err });
    if (err instanceof ccxt.NetworkError || err instanceof ccxt.OperationFailed) {
      return new VenueNetworkError(message, { cause: err });
    }
    if (err instanceof ccxt.BaseError) return new VenueRejected(message, { cause: err });
    return new VenueNetworkError(message, { cause: err });
  }

  async init(): Promise<void> {
    if (this.loaded) return;
    await this.call("normal", () => this.exchange.loadMarkets());
    this.loaded = true;
  }

  get ready(): boolean {
    return this.loaded;
  }

  symbols(): string[] {
    return this.loaded ? this.exchange.symbols : [];
  }

  market(symbol: string): VenueMarket | undefined {
    if (!this.loaded) return undefined;
    const m = this.exchange.markets?.[symbol] as MarketInterface | undefined;
    if (m === undefined) return undefined;
    const tick = (p: number | undefined) =>
      p === undefined ? undefined : this.exchange.precisionMode === ccxt.TICK_SIZE ? p : 10 ** -p;
    const market: VenueMarket = {
      symbol,
      base: m.base,
      quote: m.quote,
      maker: m.maker ?? 0.001,
      taker: m.taker ?? 0.001,
    };
    const tickSize = tick(m.precision.price);
    const stepSize = tick(m.precision.amount);
    return {
      ...market,
      ...(tickSize !== undefined ? { tickSize } : {}),
      ...(stepSize !== undefined ? { stepSize } : {}),
      ...(m.limits.amount?.min !== undefined ? { minAmount: m.limits.amount.min } : {}),
      ...(m.limits.cost?.min !== undefined ? { minNotional: m.limits.cost.min } : {}),
    };
  }

  private toOrder(o: CcxtOrder, fallback?: OrderRequest): VenueOrder {
    const amount = positiveOr(o.amount ?? undefined, fallback?.amount) ?? 0;
    const filled = o.filled ?? 0;
    const now = Date.now();
    const price = positiveOr(o.price ?? undefined, fallback?.price);
    const stopPrice = positiveOr(o.triggerPrice ?? o.stopPrice ?? undefined, fallback?.stopPrice);
    const average = positiveOr(o.average ?? undefined);
    const order: Order = {
      id: String(o.id),
      clientOrderId: o.clientOrderId ?? fallback?.clientOrderId ?? String(o.id),
      account: fallback?.account ?? "default",
      venue: this.name,
      symbol: o.symbol ?? fallback?.symbol ?? "",
      side: o.side === "sell" ? "sell" : "buy",
      type: fallback?.type ?? typeOf(o.type ?? undefined),
      amount,
      status: statusOf(o),
      filled,
      remaining: Math.max(0, o.remaining ?? amount - filled),
      createdAt: o.timestamp ?? now,
      updatedAt: o.lastUpdateTimestamp ?? o.lastTradeTimestamp ?? o.timestamp ?? now,
      ...(price !== undefined ? { price } : {}),
      ...(stopPrice !== undefined ? { stopPrice } : {}),
      ...(average !== undefined ? { averagePrice: average } : {}),
      ...(o.fee?.cost !== undefined && o.fee.currency !== undefined
        ? { fee: { currency: o.fee.currency, cost: o.fee.cost } }
        : {}),
    };
    const fills = (o.trades ?? [])
      .filter((t) => t.id !== undefined && (t.amount ?? 0) > 0)
      .map((t) => this.toFill(t, order.id, order.clientOrderId, order.account, order.symbol, order.side));
    return { order, fills };
  }

  private toFill(
    t: CcxtTrade,
    orderId: string,
    clientOrderId: string,
    account: string,
    symbol: string,
    side: "buy" | "sell",
  ): Fill {
    return {
      id: `${this.name}:${t.id}`,
      orderId: t.order ?? orderId,
      clientOrderId,
      account,
      venue: this.name,
      symbol: t.symbol ?? symbol,
      side: t.side === "sell" ? "sell" : t.side === "buy" ? "buy" : side,
      amount: t.amount ?? 0,
      price: t.price ?? 0,
      fee: { currency: t.fee?.currency ?? "", cost: t.fee?.cost ?? 0 },
      liquidity: t.takerOrMaker === "maker" ? "maker" : "taker",
      timestamp: t.timestamp ?? Date.now(),
    };
  }

  async placeOrder(r: OrderRequest): Promise<VenueOrder> {
    const params: Record<string, unknown> = { clientOrderId: r.clientOrderId };
    if (r.stopPrice !== undefined) params.triggerPrice = r.stopPrice;
    const type = r.type === "market" || r.type === "stop" ? "market" : "limit";
    const o = await this.call("normal", () =>
      this.exchange.createOrder(
        r.symbol,
        type,
        r.side,
        r.amount,
        type === "limit" ? r.price : undefined,
        params,
      ),
    );
    return this.toOrder(o, r);
  }

  async cancelOrder(ref: VenueOrderRef, symbol: string): Promise<VenueOrder> {
    const params: Record<string, unknown> =
      ref.clientOrderId !== undefined && ref.id === undefined ? { clientOrderId: ref.clientOrderId } : {};
    const o = await this.call("cancel", () => this.exchange.cancelOrder(ref.id ?? "", symbol, params));
    return this.toOrder(o);
  }

  async fetchOrder(ref: VenueOrderRef, symbol: string): Promise<VenueOrder | undefined> {
    try {
      const o =
        ref.id !== undefined
          ? await this.call("normal", () => this.exchange.fetchOrder(ref.id ?? "", symbol))
          : await this.call("normal", () =>
              this.exchange.fetchOrder(undefined as unknown as string, symbol, {
                clientOrderId: ref.clientOrderId,
              }),
            );
      return this.toOrder(o);
    } catch (err) {
      if (err instanceof VenueOrderNotFound) return undefined;
      throw err;
    }
  }

  async fetchOpenOrders(symbol?: string): Promise<VenueOrder[]> {
    const orders = await this.call("normal", () => this.exchange.fetchOpenOrders(symbol));
    return orders.map((o) => this.toOrder(o));
  }

  async fetchOrderFills(
    orderId: string,
    symbol: string,
    clientOrderId: string,
    account: string,
  ): Promise<Fill[]> {
    const trades = await this.call("normal", () =>
      this.exchange.fetchMyTrades(symbol, undefined, undefined, { orderId }),
    );
    return trades
      .filter((t) => t.order === orderId && (t.amount ?? 0) > 0)
      .map((t) =>
        this.toFill(t, orderId, clientOrderId, account, symbol, t.side === "sell" ? "sell" : "buy"),
      );
  }

  async fetchBalances(): Promise<Record<string, Balance>> {
    const b = (await this.call("normal", () => this.exchange.fetchBalance())) as unknown as {
      total?: Record<string, number | undefined>;
      free?: Record<string, number | undefined>;
      used?: Record<string, number | undefined>;
    };
    const out: Record<string, Balance> = {};
    for (const [currency, total] of Object.entries(b.total ?? {})) {
      const t = Number(total ?? 0);
      if (!(t > 0)) continue;
      out[currency] = {
        total: t,
        free: Number(b.free?.[currency] ?? 0),
        used: Number(b.used?.[currency] ?? 0),
      };
    }
    return out;
  }

  async fetchTicker(symbol: string): Promise<Ticker> {
    const t = await this.call("normal", () => this.exchange.fetchTicker(symbol));
    const last =
      positiveOr(t.last ?? undefined) ??
      positiveOr(t.close ?? undefined) ??
      positiveOr(t.bid ?? undefined) ??
      0;
    const bid = positiveOr(t.bid ?? undefined);
    const ask = positiveOr(t.ask ?? undefined);
    return {
      venue: this.name,
      symbol,
      last,
      timestamp: t.timestamp ?? Date.now(),
      ...(bid !== undefined ? { bid } : {}),
      ...(ask !== undefined ? { ask } : {}),
    };
  }

  async fetchOrderBook(symbol: string, depth = 20): Promise<OrderBook> {
    const b = await this.call("normal", () => this.exchange.fetchOrderBook(symbol, depth));
    const levels = (side: [number | undefined, number | undefined][]) =>
      side
        .filter((l): l is [number, number] => (l[0] ?? 0) > 0 && (l[1] ?? 0) > 0)
        .map(([p, a]) => [p, a] as [number, number]);
    return {
      venue: this.name,
      symbol,
      bids: levels(b.bids as [number | undefined, number | undefined][]),
      asks: levels(b.asks as [number | undefined, number | undefined][]),
      timestamp: b.timestamp ?? Date.now(),
    };
  }

  /** Recent public trades of a symbol (the polling fallback of a trade stream). */
  async fetchTrades(symbol: string, limit = 50): Promise<TradePrint[]> {
    const trades = await this.call("normal", () => this.exchange.fetchTrades(symbol, undefined, limit));
    return trades.map((t) => this.toPrint(symbol, t));
  }

  private toPrint(symbol: string, t: CcxtTrade): TradePrint {
    return {
      venue: this.name,
      symbol,
      id: String(t.id ?? t.timestamp ?? ""),
      price: t.price ?? 0,
      amount: t.amount ?? 0,
      side: t.side === "sell" ? "sell" : "buy",
      timestamp: t.timestamp ?? Date.now(),
    };
  }

  /**
   * ccxt.pro's websocket instance for this exchange, when ccxt has one and it implements `method`
   * (watchTicker, watchOrderBook, watchTrades); created on first use with the same keys and URLs.
   */
  private proInstance(method: "watchTicker" | "watchOrderBook" | "watchTrades"): Exchange | undefined {
    if (this.pro === undefined) {
      const pro = (ccxt as unknown as { pro?: Record<string, unknown> }).pro?.[this.options.exchangeId];
      if (typeof pro !== "function") return undefined;
      this.pro = new (pro as ExchangeClass)(this.ccxtConfig());
      if (this.options.sandbox === true) this.pro.setSandboxMode(true);
      if (this.options.apiBaseUrl !== undefined) overrideApiUrls(this.pro, this.options.apiBaseUrl);
      const ws = (this.pro.urls.api as unknown as Record<string, unknown>).ws;
      if (this.options.wsBaseUrl !== undefined && typeof ws === "object" && ws !== null) {
        const entries = ws as Record<string, unknown>;
        for (const key of Object.keys(entries)) {
          if (typeof entries[key] === "string") entries[key] = this.options.wsBaseUrl;
        }
      }
    }
    return this.pro.has[method] === true ? this.pro : undefined;
  }

  /** True when ccxt.pro can stream `kind` for this exchange (and no API URL override forbids it). */
  canWatch(kind: "ticker" | "book" | "trade"): boolean {
    if (this.options.apiBaseUrl !== undefined && this.options.wsBaseUrl === undefined) return false;
    return (
      this.proInstance(
        kind === "ticker" ? "watchTicker" : kind === "book" ? "watchOrderBook" : "watchTrades",
      ) !== undefined
    );
  }

  /** Waits for the next websocket update of `kind` (ccxt.pro watch*). */
  async watch(kind: "ticker" | "book" | "trade", symbol: string): Promise<Ticker | OrderBook | TradePrint[]> {
    const method = kind === "ticker" ? "watchTicker" : kind === "book" ? "watchOrderBook" : "watchTrades";
    const pro = this.proInstance(method);
    if (pro === undefined) throw new VenueRejected(`${this.name} cannot watch ${kind}`);
    try {
      // ccxt needs a node:http agent before it opens a plain ws:// URL (a local emulator).
      if (this.options.wsBaseUrl?.startsWith("ws://") === true) await pro.loadHttpProxyAgent();
      if (kind === "ticker") {
        const t = await pro.watchTicker(symbol);
        const bid = positiveOr(t.bid ?? undefined);
        const ask = positiveOr(t.ask ?? undefined);
        return {
          venue: this.name,
          symbol,
          last: positiveOr(t.last ?? undefined) ?? bid ?? ask ?? 0,
          timestamp: t.timestamp ?? Date.now(),
          ...(bid !== undefined ? { bid } : {}),
          ...(ask !== undefined ? { ask } : {}),
        };
      }
      if (kind === "book") {
        const b = await pro.watchOrderBook(symbol, 20);
        const levels = (side: [number | undefined, number | undefined][]) =>
          side
            .filter((l): l is [number, number] => (l[0] ?? 0) > 0 && (l[1] ?? 0) > 0)
            .map(([p, a]) => [p, a] as [number, number]);
        return {
          venue: this.name,
          symbol,
          bids: levels(b.bids as [number | undefined, number | undefined][]).slice(0, 20),
          asks: levels(b.asks as [number | undefined, number | undefined][]).slice(0, 20),
          timestamp: b.timestamp ?? Date.now(),
        };
      }
      const trades = await pro.watchTrades(symbol);
      return trades.map((t) => this.toPrint(symbol, t));
    } catch (err) {
      throw this.translate(err);
    }
  }

  health(): VenueHealth {
    return {
      rateLimit: this.bucket.state(),
      latencyMs: this.latency.summary(),
      requests: this.requests,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  async close(): Promise<void> {
    this.bucket.close();
    await this.exchange.close?.();
    await this.pro?.close?.();
  }
}

/** Points every `urls.api` entry of a ccxt exchange at `base`, keeping each entry's path. */
export function overrideApiUrls(exchange: Exchange, base: string): void {
  const api = exchange.urls.api as unknown as Record<string, unknown>;
  const root = base.replace(/\/$/, "");
  for (const [key, value] of Object.entries(api)) {
    if (typeof value === "string") api[key] = `${root}${new URL(value).pathname}`;
  }
}
