import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { serveWebSocket } from "./ws.ts";

/**
 * A local HTTP server speaking the subset of Binance's spot REST dialect (`/api/v3/*`) that ccxt's
 * `binance` class calls for this service: exchangeInfo, depth, ticker/24hr, ticker/bookTicker, time,
 * order (POST place, DELETE cancel, GET query by orderId or origClientOrderId), openOrders, myTrades,
 * account. Private endpoints check the X-MBX-APIKEY header and ccxt's HMAC-SHA256 signature over the
 * query (or form body) exactly as Binance does.
 * A minimal websocket side (`wsUrl()`, see ws.ts) answers Binance's `SUBSCRIBE` for
 * `<symbol>@miniTicker` and pushes `24hrMiniTicker` events, for ccxt.pro's watchTicker.
 *
 * Matching is deliberately simple: each symbol has a static book; market orders and the marketable
 * part of limits fill against it (levels are not depleted); the rest of a limit rests until the test
 * calls `fillOrder` (a counterparty arrives). Stop types are accepted and rest untriggered.
 *
 * Faults are injected per request, in order (`inject`): a status (429/418 with Retry-After, 5xx), extra
 * latency, `drop` (apply the request, then destroy the socket without answering — the "did my order
 * go through?" case), and `down` (destroy the socket without applying: an outage). `requests` records
 * every request (method, path, params, time) for assertions.
 */
export interface EmulatorSymbol {
  base: string;
  quote: string;
  tickSize: string;
  stepSize: string;
  minQty?: string;
  minNotional?: string;
  bids: [number, number][];
  asks: [number, number][];
}

export type Fault =
  | { kind: "status"; status: 429 | 418 | 500 | 502 | 503; retryAfterSec?: number }
  | { kind: "latency"; ms: number }
  | { kind: "drop" }
  | { kind: "down" };

export interface FaultRule {
  fault: Fault;
  /** How many matching requests it applies to (default 1; Infinity until cleared). */
  times?: number;
  /** Only requests whose method and path match, e.g. "POST /api/v3/order". */
  match?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  at: number;
  /** The fault applied, if any. */
  fault?: Fault["kind"];
  status?: number;
}

interface EmuOrder {
  symbol: string;
  orderId: number;
  clientOrderId: string;
  price: string;
  origQty: number;
  executedQty: number;
  cummulativeQuoteQty: number;
  status: "NEW" | "PARTIALLY_FILLED" | "FILLED" | "CANCELED" | "EXPIRED";
  timeInForce: string;
  type: string;
  side: "BUY" | "SELL";
  stopPrice: string;
  time: number;
  updateTime: number;
}

interface EmuTrade {
  symbol: string;
  id: number;
  orderId: number;
  price: number;
  qty: number;
  commission: number;
  commissionAsset: string;
  time: number;
  isBuyer: boolean;
  isMaker: boolean;
}

export interface EmulatorOptions {
  apiKey?: string;
  secret?: string;
  symbols?: Record<string, EmulatorSymbol>;
  balances?: Record<string, number>;
  /** Commission rate charged on fills (quote currency). */
  commission?: number;
  now?: () => number;
}

const defaultSymbols: Record<string, EmulatorSymbol> = {
  BTCUSDT: {
    base: "BTC",
    quote: "USDT",
    tickSize: "0.01",
    stepSize: "0.00001",
    minQty: "0.00001",
    minNotional: "5",
    bids: [
      [49_990, 0.5],
      [49_980, 1],
      [49_950, 5],
    ],
    asks: [
      [50_010, 0.5],
      [50_020, 1],
      [50_050, 5],
    ],
  },
  ETHUSDT: {
    base: "ETH",
    quote: "USDT",
    tickSize: "0.01",
    stepSize: "0.0001",
    minQty: "0.0001",
    minNotional: "5",
    bids: [[2_999, 10]],
    asks: [[3_001, 10]],
  },
};

const fmt = (x: number) => (Math.round(x * 1e8) / 1e8).toFixed(8);

export class BinanceEmulator {
  readonly apiKey: string;
  readonly secret: string;
  readonly symbols: Record<string, EmulatorSymbol>;
  readonly balances: Map<string, number>;
  readonly orders: EmuOrder[] = [];
  readonly trades: EmuTrade[] = [];
  readonly requests: RecordedRequest[] = [];
  private readonly rules: FaultRule[] = [];
  private nextOrderId = 1000;
  private nextTradeId = 5000;
  private server: Server | undefined;
  private wsSockets: Set<Duplex> | undefined;
  private readonly wsTimers = new Set<NodeJS.Timeout>();
  private readonly commission: number;
  private readonly now: () => number;
  url = "";

  constructor(options: EmulatorOptions = {}) {
    this.apiKey = options.apiKey ?? "emulator-key";
    this.secret = options.secret ?? "emulator-secret";
    this.symbols = options.symbols ?? structuredClone(defaultSymbols);
    this.balances = new Map(Object.entries(options.balances ?? { USDT: 1_000_000, BTC: 10, ETH: 100 }));
    this.commission = options.commission ?? 0.001;
    this.now = options.now ?? Date.now;
  }

  /** Starts on 127.0.0.1 and a free port; `url` is then `http://127.0.0.1:<port>`. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
    this.wsSockets = serveWebSocket(this.server, (conn) => this.onWs(conn));
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    for (const t of this.wsTimers) clearInterval(t);
    for (const socket of this.wsSockets ?? []) socket.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The websocket base ccxt.pro's binance class uses for spot streams (`urls.api.ws.spot`). */
  wsUrl(): string {
    return `${this.url.replace(/^http/, "ws")}/ws`;
  }

  /** Drops every websocket connection (a stream outage). */
  dropWebSockets(): void {
    for (const socket of this.wsSockets ?? []) socket.destroy();
  }

  /**
   * Binance's market-stream protocol, the part ccxt.pro uses for tickers: `SUBSCRIBE` to
   * `<symbol>@miniTicker` is answered `{result: null, id}`, then a `24hrMiniTicker` event is pushed
   * every 50 ms with the book's mid as the close.
   */
  private onWs(conn: { send(text: string): void }): (text: string) => void {
    return (text) => {
      let msg: { method?: string; params?: string[]; id?: number };
      try {
        msg = JSON.parse(text) as typeof msg;
      } catch {
        return;
      }
      if (msg.method !== "SUBSCRIBE") return;
      conn.send(JSON.stringify({ result: null, id: msg.id }));
      for (const stream of msg.params ?? []) {
        const [lower, channel] = stream.split("@");
        const symbol = (lower ?? "").toUpperCase();
        const sym = this.symbols[symbol];
        if (sym === undefined || channel !== "miniTicker") continue;
        const timer = setInterval(() => {
          const mid = ((sym.bids[0]?.[0] ?? 0) + (sym.asks[0]?.[0] ?? 0)) / 2;
          conn.send(
            JSON.stringify({
              e: "24hrMiniTicker",
              E: this.now(),
              s: symbol,
              c: fmt(mid),
              o: fmt(mid),
              h: fmt(mid),
              l: fmt(mid),
              v: "100",
              q: fmt(100 * mid),
            }),
          );
        }, 50);
        this.wsTimers.add(timer);
      }
    };
  }

  /** ccxt `urls.api` entries pointing the binance class at this server. */
  apiUrls(): Record<string, string> {
    return { public: `${this.url}/api/v3`, private: `${this.url}/api/v3`, v1: `${this.url}/api/v1` };
  }

  inject(rule: FaultRule): void {
    this.rules.push({ times: 1, ...rule });
  }

  clearFaults(): void {
    this.rules.length = 0;
  }

  /** Requests matching "METHOD /path". */
  requestsTo(match: string): RecordedRequest[] {
    return this.requests.filter((r) => `${r.method} ${r.path}` === match);
  }

  /** A counterparty fills (part of) a resting order at its limit price (maker). */
  fillOrder(orderId: number, qty?: number): void {
    const o = this.orders.find((x) => x.orderId === orderId);
    if (o === undefined) throw new Error(`no order ${orderId}`);
    if (o.status !== "NEW" && o.status !== "PARTIALLY_FILLED")
      throw new Error(`order ${orderId} is ${o.status}`);
    const left = o.origQty - o.executedQty;
    this.execute(o, Number(o.price), Math.min(left, qty ?? left), true);
  }

  private takeRule(method: string, path: string): Fault | undefined {
    const key = `${method} ${path}`;
    const i = this.rules.findIndex((r) => r.match === undefined || r.match === key);
    if (i < 0) return undefined;
    const rule = this.rules[i] as FaultRule;
    const times = (rule.times ?? 1) - 1;
    if (times <= 0) this.rules.splice(i, 1);
    else rule.times = times;
    return rule.fault;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://emulator");
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const method = req.method ?? "GET";
    const raw = method === "POST" || method === "PUT" ? body : url.search.slice(1);
    const params = Object.fromEntries(new URLSearchParams(raw));
    const record: RecordedRequest = { method, path: url.pathname, params, at: this.now() };
    this.requests.push(record);

    let fault = this.takeRule(method, url.pathname);
    while (fault?.kind === "latency") {
      await new Promise((r) => setTimeout(r, fault?.kind === "latency" ? fault.ms : 0));
      fault = this.takeRule(method, url.pathname);
    }
    if (fault !== undefined) record.fault = fault.kind;
    if (fault?.kind === "down") {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "status") {
      record.status = fault.status;
      const h: Record<string, string> = { "content-type": "application/json" };
      if (fault.retryAfterSec !== undefined) h["retry-after"] = String(fault.retryAfterSec);
      res.writeHead(fault.status, h);
      const msg =
        fault.status === 429
          ? { code: -1003, msg: "Too many requests; current limit is 1200 request weight per 1 MINUTE." }
          : fault.status === 418
            ? { code: -1003, msg: "Way too many requests; IP banned." }
            : { code: -1001, msg: "Internal error; unable to process your request. Please try again." };
      res.end(JSON.stringify(msg));
      return;
    }
    const answer = this.route(method, url.pathname, params, raw, req);
    record.status = answer.status;
    if (fault?.kind === "drop") {
      req.socket.destroy();
      return;
    }
    res.writeHead(answer.status, { "content-type": "application/json" });
    res.end(JSON.stringify(answer.body));
  }

  private error(status: number, code: number, msg: string) {
    return { status, body: { code, msg } };
  }

  private authenticate(raw: string, req: IncomingMessage) {
    if (req.headers["x-mbx-apikey"] !== this.apiKey)
      return this.error(401, -2015, "Invalid API-key, IP, or permissions for action.");
    const at = raw.lastIndexOf("&signature=");
    if (at < 0)
      return this.error(
        400,
        -1102,
        "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
      );
    const payload = raw.slice(0, at);
    const given = Buffer.from(raw.slice(at + "&signature=".length), "utf8");
    const expected = Buffer.from(createHmac("sha256", this.secret).update(payload).digest("hex"), "utf8");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return this.error(400, -1022, "Signature for this request is not valid.");
    }
    const params = new URLSearchParams(payload);
    const ts = Number(params.get("timestamp"));
    const window = Number(params.get("recvWindow") ?? 5000);
    if (!Number.isFinite(ts) || Math.abs(this.now() - ts) > window) {
      return this.error(400, -1021, "Timestamp for this request is outside of the recvWindow.");
    }
    return undefined;
  }

  private route(
    method: string,
    path: string,
    p: Record<string, string>,
    raw: string,
    req: IncomingMessage,
  ): { status: number; body: unknown } {
    const key = `${method} ${path}`;
    switch (key) {
      case "GET /api/v3/ping":
        return { status: 200, body: {} };
      case "GET /api/v3/time":
        return { status: 200, body: { serverTime: this.now() } };
      case "GET /api/v3/exchangeInfo":
        return { status: 200, body: this.exchangeInfo() };
      case "GET /api/v3/depth":
        return this.withSymbol(p, (s, sym) => ({
          status: 200,
          body: {
            lastUpdateId: this.requests.length,
            bids: sym.bids.slice(0, Number(p.limit ?? 100)).map(([a, b]) => [fmt(a), fmt(b)]),
            asks: sym.asks.slice(0, Number(p.limit ?? 100)).map(([a, b]) => [fmt(a), fmt(b)]),
            symbol: s,
          },
        }));
      case "GET /api/v3/ticker/24hr":
        return this.withSymbol(p, (s, sym) => ({ status: 200, body: this.ticker(s, sym) }));
      case "GET /api/v3/ticker/bookTicker":
        return this.withSymbol(p, (s, sym) => ({
          status: 200,
          body: {
            symbol: s,
            bidPrice: fmt(sym.bids[0]?.[0] ?? 0),
            bidQty: fmt(sym.bids[0]?.[1] ?? 0),
            askPrice: fmt(sym.asks[0]?.[0] ?? 0),
            askQty: fmt(sym.asks[0]?.[1] ?? 0),
          },
        }));
      case "GET /api/v3/trades":
      case "GET /api/v3/aggTrades":
        return this.withSymbol(p, (s) => ({
          status: 200,
          body: this.trades
            .filter((t) => t.symbol === s)
            .slice(-Number(p.limit ?? 500))
            .map((t) =>
              path.endsWith("aggTrades")
                ? {
                    a: t.id,
                    p: fmt(t.price),
                    q: fmt(t.qty),
                    f: t.id,
                    l: t.id,
                    T: t.time,
                    m: !t.isBuyer,
                    M: true,
                  }
                : {
                    id: t.id,
                    price: fmt(t.price),
                    qty: fmt(t.qty),
                    quoteQty: fmt(t.price * t.qty),
                    time: t.time,
                    isBuyerMaker: !t.isBuyer,
                    isBestMatch: true,
                  },
            ),
        }));
      default:
        break;
    }
    const denied = this.authenticate(raw, req);
    if (denied !== undefined) return denied;
    switch (key) {
      case "POST /api/v3/order":
        return this.place(p);
      case "DELETE /api/v3/order":
        return this.cancel(p);
      case "GET /api/v3/order": {
        const o = this.find(p);
        return o === undefined
          ? this.error(400, -2013, "Order does not exist.")
          : { status: 200, body: this.view(o) };
      }
      case "GET /api/v3/openOrders":
        return {
          status: 200,
          body: this.orders
            .filter(
              (o) =>
                (o.status === "NEW" || o.status === "PARTIALLY_FILLED") &&
                (p.symbol === undefined || o.symbol === p.symbol),
            )
            .map((o) => this.view(o)),
        };
      case "GET /api/v3/myTrades":
        return this.withSymbol(p, (s) => ({
          status: 200,
          body: this.trades
            .filter((t) => t.symbol === s && (p.orderId === undefined || String(t.orderId) === p.orderId))
            .filter((t) => p.fromId === undefined || t.id >= Number(p.fromId))
            .map((t) => ({
              symbol: t.symbol,
              id: t.id,
              orderId: t.orderId,
              orderListId: -1,
              price: fmt(t.price),
              qty: fmt(t.qty),
              quoteQty: fmt(t.price * t.qty),
              commission: fmt(t.commission),
              commissionAsset: t.commissionAsset,
              time: t.time,
              isBuyer: t.isBuyer,
              isMaker: t.isMaker,
              isBestMatch: true,
            })),
        }));
      case "GET /api/v3/account":
        return {
          status: 200,
          body: {
            makerCommission: 10,
            takerCommission: 10,
            buyerCommission: 0,
            sellerCommission: 0,
            canTrade: true,
            canWithdraw: true,
            canDeposit: true,
            updateTime: this.now(),
            accountType: "SPOT",
            balances: [...this.balances].map(([asset, total]) => ({
              asset,
              free: fmt(total - this.locked(asset)),
              locked: fmt(this.locked(asset)),
            })),
            permissions: ["SPOT"],
          },
        };
      default:
        return this.error(404, -1000, `unknown endpoint ${key}`);
    }
  }

  private withSymbol(
    p: Record<string, string>,
    fn: (s: string, sym: EmulatorSymbol) => { status: number; body: unknown },
  ) {
    const s = p.symbol ?? "";
    const sym = this.symbols[s];
    return sym === undefined ? this.error(400, -1121, "Invalid symbol.") : fn(s, sym);
  }

  private exchangeInfo() {
    return {
      timezone: "UTC",
      serverTime: this.now(),
      rateLimits: [{ rateLimitType: "REQUEST_WEIGHT", interval: "MINUTE", intervalNum: 1, limit: 6000 }],
      exchangeFilters: [],
      symbols: Object.entries(this.symbols).map(([symbol, s]) => ({
        symbol,
        status: "TRADING",
        baseAsset: s.base,
        baseAssetPrecision: 8,
        quoteAsset: s.quote,
        quotePrecision: 8,
        quoteAssetPrecision: 8,
        baseCommissionPrecision: 8,
        quoteCommissionPrecision: 8,
        orderTypes: [
          "LIMIT",
          "LIMIT_MAKER",
          "MARKET",
          "STOP_LOSS",
          "STOP_LOSS_LIMIT",
          "TAKE_PROFIT",
          "TAKE_PROFIT_LIMIT",
        ],
        icebergAllowed: true,
        ocoAllowed: true,
        quoteOrderQtyMarketAllowed: true,
        allowTrailingStop: true,
        cancelReplaceAllowed: true,
        isSpotTradingAllowed: true,
        isMarginTradingAllowed: false,
        filters: [
          {
            filterType: "PRICE_FILTER",
            minPrice: s.tickSize,
            maxPrice: "1000000.00000000",
            tickSize: s.tickSize,
          },
          {
            filterType: "LOT_SIZE",
            minQty: s.minQty ?? s.stepSize,
            maxQty: "9000.00000000",
            stepSize: s.stepSize,
          },
          {
            filterType: "NOTIONAL",
            minNotional: s.minNotional ?? "5",
            applyMinToMarket: true,
            maxNotional: "9000000",
            applyMaxToMarket: false,
            avgPriceMins: 5,
          },
        ],
        permissions: [],
        permissionSets: [["SPOT"]],
        defaultSelfTradePreventionMode: "EXPIRE_MAKER",
        allowedSelfTradePreventionModes: ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
      })),
    };
  }

  private ticker(symbol: string, s: EmulatorSymbol) {
    const bid = s.bids[0]?.[0] ?? 0;
    const ask = s.asks[0]?.[0] ?? 0;
    const last = (bid + ask) / 2;
    return {
      symbol,
      priceChange: "0",
      priceChangePercent: "0",
      weightedAvgPrice: fmt(last),
      prevClosePrice: fmt(last),
      lastPrice: fmt(last),
      lastQty: "0.1",
      bidPrice: fmt(bid),
      bidQty: fmt(s.bids[0]?.[1] ?? 0),
      askPrice: fmt(ask),
      askQty: fmt(s.asks[0]?.[1] ?? 0),
      openPrice: fmt(last),
      highPrice: fmt(last),
      lowPrice: fmt(last),
      volume: "100",
      quoteVolume: fmt(100 * last),
      openTime: this.now() - 86_400_000,
      closeTime: this.now(),
      firstId: 1,
      lastId: 2,
      count: 1,
    };
  }

  private locked(asset: string): number {
    let locked = 0;
    for (const o of this.orders) {
      if (o.status !== "NEW" && o.status !== "PARTIALLY_FILLED") continue;
      const sym = this.symbols[o.symbol];
      if (sym === undefined) continue;
      const left = o.origQty - o.executedQty;
      if (o.side === "BUY" && sym.quote === asset) locked += left * Number(o.price || 0);
      if (o.side === "SELL" && sym.base === asset) locked += left;
    }
    return locked;
  }

  private find(p: Record<string, string>): EmuOrder | undefined {
    if (p.orderId !== undefined)
      return this.orders.find((o) => String(o.orderId) === p.orderId && o.symbol === p.symbol);
    if (p.origClientOrderId !== undefined) {
      return this.orders.find((o) => o.clientOrderId === p.origClientOrderId && o.symbol === p.symbol);
    }
    return undefined;
  }

  private onTick(value: number, step: string): boolean {
    const units = value / Number(step);
    return Math.abs(units - Math.round(units)) < 1e-6;
  }

  private place(p: Record<string, string>) {
    const sym = this.symbols[p.symbol ?? ""];
    if (sym === undefined) return this.error(400, -1121, "Invalid symbol.");
    const side = p.side;
    if (side !== "BUY" && side !== "SELL")
      return this.error(400, -1102, "Mandatory parameter 'side' was not sent.");
    const type = p.type ?? "";
    const qty = Number(p.quantity);
    if (!(qty > 0)) return this.error(400, -1013, "Filter failure: LOT_SIZE");
    if (!this.onTick(qty, sym.stepSize)) return this.error(400, -1013, "Filter failure: LOT_SIZE");
    const price = p.price === undefined ? undefined : Number(p.price);
    if (price !== undefined && !this.onTick(price, sym.tickSize))
      return this.error(400, -1013, "Filter failure: PRICE_FILTER");
    const clientOrderId = p.newClientOrderId ?? `emu-${this.nextOrderId}`;
    if (
      this.orders.some(
        (o) => o.clientOrderId === clientOrderId && (o.status === "NEW" || o.status === "PARTIALLY_FILLED"),
      )
    ) {
      return this.error(400, -2010, "Duplicate order sent.");
    }
    const t = this.now();
    const order: EmuOrder = {
      symbol: p.symbol ?? "",
      orderId: this.nextOrderId++,
      clientOrderId,
      price: price === undefined ? "0.00000000" : fmt(price),
      origQty: qty,
      executedQty: 0,
      cummulativeQuoteQty: 0,
      status: "NEW",
      timeInForce: p.timeInForce ?? "GTC",
      type,
      side,
      stopPrice: p.stopPrice === undefined ? "0.00000000" : fmt(Number(p.stopPrice)),
      time: t,
      updateTime: t,
    };
    this.orders.push(order);
    const newFills: EmuTrade[] = [];
    if (type === "MARKET" || type === "LIMIT") {
      const levels = side === "BUY" ? sym.asks : sym.bids;
      let left = qty;
      for (const [lp, la] of levels) {
        if (left <= 1e-12) break;
        if (type === "LIMIT" && price !== undefined && (side === "BUY" ? lp > price : lp < price)) break;
        const take = Math.min(left, la);
        newFills.push(this.execute(order, lp, take, false));
        left -= take;
      }
      if (type === "MARKET" && order.status !== "FILLED") order.status = "EXPIRED";
    }
    return {
      status: 200,
      body: {
        ...this.view(order),
        transactTime: t,
        fills: newFills.map((f) => ({
          price: fmt(f.price),
          qty: fmt(f.qty),
          commission: fmt(f.commission),
          commissionAsset: f.commissionAsset,
          tradeId: f.id,
        })),
      },
    };
  }

  private execute(o: EmuOrder, price: number, qty: number, maker: boolean): EmuTrade {
    const sym = this.symbols[o.symbol] as EmulatorSymbol;
    const t = this.now();
    const trade: EmuTrade = {
      symbol: o.symbol,
      id: this.nextTradeId++,
      orderId: o.orderId,
      price,
      qty,
      commission: price * qty * this.commission,
      commissionAsset: sym.quote,
      time: t,
      isBuyer: o.side === "BUY",
      isMaker: maker,
    };
    this.trades.push(trade);
    o.executedQty += qty;
    o.cummulativeQuoteQty += price * qty;
    o.status = o.origQty - o.executedQty <= 1e-12 ? "FILLED" : "PARTIALLY_FILLED";
    o.updateTime = t;
    const sign = o.side === "BUY" ? 1 : -1;
    this.balances.set(sym.base, (this.balances.get(sym.base) ?? 0) + sign * qty);
    this.balances.set(sym.quote, (this.balances.get(sym.quote) ?? 0) - sign * price * qty - trade.commission);
    return trade;
  }

  private cancel(p: Record<string, string>) {
    const o = this.find(p);
    if (o === undefined) return this.error(400, -2011, "Unknown order sent.");
    if (o.status !== "NEW" && o.status !== "PARTIALLY_FILLED")
      return this.error(400, -2011, "Unknown order sent.");
    o.status = "CANCELED";
    o.updateTime = this.now();
    return { status: 200, body: { ...this.view(o), origClientOrderId: o.clientOrderId } };
  }

  private view(o: EmuOrder) {
    return {
      symbol: o.symbol,
      orderId: o.orderId,
      orderListId: -1,
      clientOrderId: o.clientOrderId,
      price: o.price,
      origQty: fmt(o.origQty),
      executedQty: fmt(o.executedQty),
      cummulativeQuoteQty: fmt(o.cummulativeQuoteQty),
      status: o.status,
      timeInForce: o.timeInForce,
      type: o.type,
      side: o.side,
      stopPrice: o.stopPrice,
      icebergQty: "0.00000000",
      time: o.time,
      updateTime: o.updateTime,
      isWorking: true,
      workingTime: o.time,
      origQuoteOrderQty: "0.00000000",
      selfTradePreventionMode: "EXPIRE_MAKER",
    };
  }
}
