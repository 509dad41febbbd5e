import type { Candle, OrderBook, Ticker } from "../../core/domain/market.ts";
import type { Fill, Order, OrderRequest } from "../../core/domain/trading.ts";
import { baseCurrency, DEFAULT_FEES, type FeeSchedule, quoteCurrency } from "../../core/execution/fees.ts";
import {
  type FillModelOptions,
  type FillOutcome,
  fillAgainstBook,
  fillAgainstCandle,
  type WorkingOrder,
} from "../../core/execution/fill-model.ts";
import { randomBytes } from "node:crypto";
import { applyCash } from "../../core/portfolio/accounting.ts";
import { fillsBy } from "./fill-groups.ts";
import { LatencyWindow } from "./latency.ts";
import {
  type Balance,
  type Venue,
  type VenueHealth,
  type VenueListener,
  type VenueMarket,
  type VenueOrder,
  type VenueOrderRef,
  VenueOrderNotFound,
  VenueRejected,
} from "../../core/ports/venue.ts";

/**
 * The paper venue: a spot account that fills orders against market data with the shared fill model
 * (core/execution/fill-model.ts), so paper and backtest fill alike.
 *
 * - On arrival an order meets the latest book (`onBook`): market orders walk the depth (the rest
 *   expires when depth runs out), limits take what crosses and rest, stops rest until triggered.
 * - Resting orders are evaluated against each new bar (`onCandle`) with the candle model: a limit
 *   fills at its price when the bar reaches it, a stop triggers when the bar trades through it.
 * - Balances: buys need free quote (amount × limit, stop or best ask, plus the taker fee), sells need
 *   free base; resting orders lock what they may spend. Fees are charged in the quote currency.
 * Ids never repeat: orders `paper-<epoch>-<n>` (epoch: the process's start time in base 36 plus 4
 * random hex digits), fills `paper:<orderId>:<n>`.
 * State survives restarts through `restore`, from the orders and fills of the event history: the wallet
 * is the configured balances plus every fill (core/portfolio/accounting.ts), open orders rest again.
 */
export interface PaperVenueOptions {
  name?: string;
  symbols: readonly string[];
  balances: Record<string, number>;
  fees?: FeeSchedule;
  slippageBps?: number;
  tickSize?: number;
  stepSize?: number;
  /** The one clock of paper trading (orders, fills, positions); default the wall clock. */
  now?: () => number;
  /**
   * The id epoch of this process (default: the start time in base 36 and 4 random hex digits), so order
   * ids `paper-<epoch>-<n>` never repeat across restarts, replicas or a wiped data dir.
   */
  idEpoch?: string;
}

interface PaperOrder {
  order: Order;
  working: WorkingOrder;
  fills: Fill[];
  notional: number;
  feeCost: number;
}

const OPEN = new Set(["accepted", "partially_filled", "submitted"]);

export class PaperVenue implements Venue {
  readonly kind = "paper" as const;
  readonly capabilities = { remoteState: false, polled: false, fillsInAnswers: true, mode: "paper" } as const;
  readonly name: string;
  private readonly books = new Map<string, OrderBook>();
  private readonly markets = new Map<string, VenueMarket>();
  private readonly lastPrice = new Map<string, number>();
  private readonly orders = new Map<string, PaperOrder>();
  /**
   * Finished orders of the history with their fills, made into paper orders only when one is asked for
   * (`entry`): a finished order holds no funds and never rests again, and most are never asked for.
   */
  private finished = new Map<string, Order>();
  private finishedFills = new Map<string, Fill[]>();
  /** Open orders only: what a new bar is checked against. */
  private readonly open = new Map<string, PaperOrder>();
  private readonly locked = new Map<string, number>();
  private readonly byClientId = new Map<string, string>();
  private readonly balances = new Map<string, number>();
  private readonly listeners: VenueListener[] = [];
  private readonly fees: FeeSchedule;
  private readonly slippageBps: number;
  private readonly now: () => number;

  time(): number {
    return this.now();
  }
  private readonly latency = new LatencyWindow(256);
  private seq = 0;
  private requests = 0;
  readonly idEpoch: string;

  constructor(readonly options: PaperVenueOptions) {
    this.name = options.name ?? "paper";
    this.fees = options.fees ?? DEFAULT_FEES;
    this.slippageBps = options.slippageBps ?? 0;
    this.now = options.now ?? Date.now;
    this.idEpoch = options.idEpoch ?? `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
    for (const [ccy, amount] of Object.entries(options.balances)) this.balances.set(ccy, amount);
  }

  async init(): Promise<void> {}

  symbols(): string[] {
    return [...this.options.symbols];
  }

  /** A symbol's market, made once (its terms are fixed by the options): the order path asks for it on every order. */
  market(symbol: string): VenueMarket | undefined {
    const known = this.markets.get(symbol);
    if (known !== undefined) return known;
    if (!this.options.symbols.includes(symbol)) return undefined;
    const market: VenueMarket = {
      symbol,
      base: baseCurrency(symbol),
      quote: quoteCurrency(symbol),
      tickSize: this.options.tickSize ?? 0.01,
      stepSize: this.options.stepSize ?? 0.000001,
      minAmount: this.options.stepSize ?? 0.000001,
      maker: this.fees.maker,
      taker: this.fees.taker,
    };
    this.markets.set(symbol, market);
    return market;
  }

  onUpdate(listener: VenueListener): void {
    this.listeners.push(listener);
  }

  /** The latest book of a symbol; arriving orders fill against it. */
  onBook(book: OrderBook): void {
    this.books.set(book.symbol, book);
    const bid = book.bids[0]?.[0];
    const ask = book.asks[0]?.[0];
    if (bid !== undefined && ask !== undefined) this.lastPrice.set(book.symbol, (bid + ask) / 2);
  }

  /** A new bar: resting orders of its symbol are evaluated with the candle model. */
  onCandle(candle: Candle): void {
    this.lastPrice.set(candle.symbol, candle.close);
    for (const po of [...this.open.values()]) {
      if (po.order.symbol !== candle.symbol) continue;
      const result = fillAgainstCandle(po.working, candle, this.modelOptions());
      const before = po.fills.length;
      // One clock: a resting order fills at the time the bar is seen, like an arriving one.
      this.update(po, () => this.apply(po, result, this.now()));
      if (po.fills.length > before) this.emit(po, po.fills.slice(before));
    }
  }

  private modelOptions(phase: "arrival" | "resting" = "arrival"): FillModelOptions {
    return { fees: this.fees, slippageBps: this.slippageBps, phase };
  }

  private emit(po: PaperOrder, fills: Fill[]): void {
    const update: VenueOrder = { order: po.order, fills };
    for (const l of this.listeners) l(update);
  }

  /** What an open order may still spend: quote for buys (at its limit or stop, plus fee), base for sells. */
  private lockOf(po: PaperOrder): [string, number] | undefined {
    if (!OPEN.has(po.order.status)) return undefined;
    const left = po.working.amount;
    if (po.order.side === "sell") return [baseCurrency(po.order.symbol), left];
    const price = po.order.price ?? po.order.stopPrice;
    return price === undefined
      ? undefined
      : [quoteCurrency(po.order.symbol), left * price * (1 + this.fees.taker)];
  }

  /** Runs `change` on an order, keeping the per-currency locks and the open set in step. */
  private update(po: PaperOrder, change: () => void): void {
    const before = this.lockOf(po);
    if (before !== undefined) this.locked.set(before[0], (this.locked.get(before[0]) ?? 0) - before[1]);
    change();
    const after = this.lockOf(po);
    if (after !== undefined) this.locked.set(after[0], (this.locked.get(after[0]) ?? 0) + after[1]);
    if (OPEN.has(po.order.status)) this.open.set(po.order.id, po);
    else this.open.delete(po.order.id);
  }

  private free(currency: string): number {
    return (this.balances.get(currency) ?? 0) - Math.max(0, this.locked.get(currency) ?? 0);
  }

  private checkFunds(r: OrderRequest): void {
    if (r.side === "sell") {
      const base = baseCurrency(r.symbol);
      const free = this.free(base);
      if (r.amount > free + 1e-12) {
        throw new VenueRejected(`insufficient ${base}: the order sells ${r.amount}, ${free} is free`);
      }
      return;
    }
    const quote = quoteCurrency(r.symbol);
    const reference = r.price ?? r.stopPrice ?? this.books.get(r.symbol)?.asks[0]?.[0];
    if (reference === undefined) throw new VenueRejected(`no market data for ${r.symbol} yet`);
    const need = r.amount * reference * (1 + this.fees.taker);
    const free = this.free(quote);
    if (need > free + 1e-9) {
      throw new VenueRejected(
        `insufficient ${quote}: the order needs ${need.toFixed(2)}, ${free.toFixed(2)} is free`,
      );
    }
  }

  async placeOrder(r: OrderRequest): Promise<VenueOrder> {
    const started = performance.now();
    this.requests += 1;
    try {
      return this.place(r);
    } finally {
      this.latency.record(performance.now() - started);
    }
  }

  /** Synchronous core of placeOrder (the bench measures the whole path). */
  place(r: OrderRequest): VenueOrder {
    if (this.market(r.symbol) === undefined) throw new VenueRejected(`paper venue has no market ${r.symbol}`);
    const known = this.byClientId.get(r.clientOrderId);
    if (known !== undefined) throw new VenueRejected(`duplicate client order id ${r.clientOrderId}`);
    this.checkFunds(r);
    const t = this.now();
    const id = `${this.name}-${this.idEpoch}-${++this.seq}`;
    const order: Order = {
      id,
      clientOrderId: r.clientOrderId,
      account: r.account,
      venue: this.name,
      symbol: r.symbol,
      side: r.side,
      type: r.type,
      amount: r.amount,
      status: "accepted",
      filled: 0,
      remaining: r.amount,
      createdAt: t,
      updatedAt: t,
      ...(r.price !== undefined ? { price: r.price } : {}),
      ...(r.stopPrice !== undefined ? { stopPrice: r.stopPrice } : {}),
    };
    const working: WorkingOrder = {
      symbol: r.symbol,
      side: r.side,
      type: r.type,
      amount: r.amount,
      ...(r.price !== undefined ? { price: r.price } : {}),
      ...(r.stopPrice !== undefined ? { stopPrice: r.stopPrice } : {}),
    };
    const po: PaperOrder = { order, working, fills: [], notional: 0, feeCost: 0 };
    this.orders.set(id, po);
    this.byClientId.set(r.clientOrderId, id);
    const book = this.books.get(r.symbol);
    this.update(po, () => {
      if (book !== undefined) {
        const result = fillAgainstBook(working, book, this.modelOptions("arrival"));
        this.apply(po, result, t);
        if (result.exhausted && (r.type === "market" || r.type === "stop")) {
          po.order = { ...po.order, status: "expired", reason: "the book ran out of depth", updatedAt: t };
        }
      } else if (r.type === "market") {
        po.order = { ...po.order, status: "expired", reason: `no book for ${r.symbol} yet`, updatedAt: t };
      }
    });
    return { order: po.order, fills: [...po.fills] };
  }

  private apply(po: PaperOrder, result: FillOutcome, t: number): void {
    po.working = { ...po.working, amount: result.remaining, triggered: result.triggered };
    if (result.fills.length === 0) return;
    const symbol = po.order.symbol;
    const base = baseCurrency(symbol);
    const quote = quoteCurrency(symbol);
    const sign = po.order.side === "buy" ? 1 : -1;
    for (const f of result.fills) {
      const fill: Fill = {
        id: `${this.name}:${po.order.id}:${po.fills.length + 1}`,
        orderId: po.order.id,
        clientOrderId: po.order.clientOrderId,
        account: po.order.account,
        venue: this.name,
        symbol,
        side: po.order.side,
        amount: f.amount,
        price: f.price,
        fee: f.fee,
        liquidity: f.liquidity,
        timestamp: t,
      };
      po.fills.push(fill);
      po.notional += f.amount * f.price;
      po.feeCost += f.fee.cost;
      this.credit(fill, base, quote, sign);
    }
    const filled = po.order.amount - result.remaining;
    po.order = {
      ...po.order,
      filled,
      remaining: result.remaining,
      status: result.remaining === 0 ? "filled" : "partially_filled",
      averagePrice: po.notional / filled,
      fee: { currency: quote, cost: po.feeCost },
      updatedAt: t,
    };
  }

  /** Moves the wallet by one fill: the shared accounting's cash change in quote, the amount in base. */
  private credit(fill: Fill, base: string, quote: string, sign: number): void {
    this.balances.set(base, (this.balances.get(base) ?? 0) + sign * fill.amount);
    this.balances.set(quote, applyCash(this.balances.get(quote) ?? 0, fill));
  }

  /**
   * Rebuilds the venue from the event history: every order of this venue (latest state) and its fills.
   * The wallet is the configured balances plus the fills; open orders rest again with what is left.
   */
  restore(orders: Iterable<Order>, fills: Iterable<Fill>): void {
    const all = [...fills];
    // The wallet moves in stream order (the same additions, in the same order, as the risk book's).
    for (const f of all) {
      if (f.venue !== this.name) continue;
      this.credit(f, baseCurrency(f.symbol), quoteCurrency(f.symbol), f.side === "buy" ? 1 : -1);
    }
    const byOrder = fillsBy(all, (f) => (f.venue === this.name ? f.orderId : undefined));
    for (const order of orders) {
      if (order.venue !== this.name || order.id === order.clientOrderId) continue;
      this.byClientId.set(order.clientOrderId, order.id);
      if (!OPEN.has(order.status)) {
        this.orders.delete(order.id);
        this.finished.set(order.id, order);
        continue;
      }
      this.finished.delete(order.id);
      const po = restored(order, byOrder.get(order.id) ?? []);
      this.orders.set(order.id, po);
      this.update(po, () => undefined);
    }
    this.finishedFills = byOrder;
  }

  /** The paper order of an id (a finished one of the history is made on first use). */
  private entry(id: string): PaperOrder | undefined {
    const po = this.orders.get(id);
    if (po !== undefined) return po;
    const order = this.finished.get(id);
    if (order === undefined) return undefined;
    const made = restored(order, this.finishedFills.get(id) ?? []);
    this.finished.delete(id);
    this.orders.set(id, made);
    return made;
  }

  private find(ref: VenueOrderRef): PaperOrder | undefined {
    const id =
      ref.id ?? (ref.clientOrderId !== undefined ? this.byClientId.get(ref.clientOrderId) : undefined);
    return id === undefined ? undefined : this.entry(id);
  }

  async cancelOrder(ref: VenueOrderRef): Promise<VenueOrder> {
    const po = this.find(ref);
    if (po === undefined)
      throw new VenueOrderNotFound(`paper venue has no order ${ref.id ?? ref.clientOrderId}`);
    if (!OPEN.has(po.order.status))
      throw new VenueRejected(`order ${po.order.id} is already ${po.order.status}`);
    this.update(po, () => {
      po.order = { ...po.order, status: "canceled", reason: "canceled by request", updatedAt: this.now() };
    });
    return { order: po.order, fills: [] };
  }

  async fetchOrder(ref: VenueOrderRef): Promise<VenueOrder | undefined> {
    const po = this.find(ref);
    return po === undefined ? undefined : { order: po.order, fills: [...po.fills] };
  }

  async fetchOpenOrders(symbol?: string): Promise<VenueOrder[]> {
    return [...this.open.values()]
      .filter((po) => symbol === undefined || po.order.symbol === symbol)
      .map((po) => ({ order: po.order, fills: [...po.fills] }));
  }

  async fetchOrderFills(orderId: string): Promise<Fill[]> {
    return [...(this.entry(orderId)?.fills ?? [])];
  }

  async fetchBalances(): Promise<Record<string, Balance>> {
    return this.balancesNow();
  }

  balancesNow(): Record<string, Balance> {
    const out: Record<string, Balance> = {};
    for (const [ccy, total] of this.balances) {
      const free = this.free(ccy);
      out[ccy] = { total, free, used: total - free };
    }
    return out;
  }

  /** Last price (mid of the latest book, else the last close). */
  price(symbol: string): number | undefined {
    return this.lastPrice.get(symbol);
  }

  async fetchTicker(symbol: string): Promise<Ticker> {
    const book = this.books.get(symbol);
    const last = this.lastPrice.get(symbol);
    if (book === undefined || last === undefined) throw new VenueRejected(`no market data for ${symbol} yet`);
    const bid = book.bids[0]?.[0];
    const ask = book.asks[0]?.[0];
    return {
      venue: this.name,
      symbol,
      last,
      timestamp: book.timestamp,
      ...(bid !== undefined ? { bid } : {}),
      ...(ask !== undefined ? { ask } : {}),
    };
  }

  async fetchOrderBook(symbol: string, depth = 20): Promise<OrderBook> {
    const book = this.books.get(symbol);
    if (book === undefined) throw new VenueRejected(`no market data for ${symbol} yet`);
    return { ...book, venue: this.name, bids: book.bids.slice(0, depth), asks: book.asks.slice(0, depth) };
  }

  health(): VenueHealth {
    return {
      latencyMs: this.latency.summary(),
      requests: this.requests,
    };
  }

  async close(): Promise<void> {}
}

/** A paper order as the history left it: what is left of it works on, with its fills' sums. */
function restored(order: Order, fills: Fill[]): PaperOrder {
  let notional = 0;
  let feeCost = 0;
  for (const f of fills) {
    notional += f.amount * f.price;
    feeCost += f.fee.cost;
  }
  return {
    order,
    working: {
      symbol: order.symbol,
      side: order.side,
      type: order.type,
      amount: order.remaining,
      ...(order.price !== undefined ? { price: order.price } : {}),
      ...(order.stopPrice !== undefined ? { stopPrice: order.stopPrice } : {}),
      ...(order.type === "stop_limit" && order.filled > 0 ? { triggered: true } : {}),
    },
    fills,
    notional,
    feeCost,
  };
}
