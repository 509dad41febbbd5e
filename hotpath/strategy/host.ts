import type { Candle, Signal } from "../../core/domain/market.ts";
import type { Fill, Order } from "../../core/domain/trading.ts";
import type { Command, PlaceOrder, StrategyKernel } from "../../core/strategy/kernel.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import { ToolError } from "../../core/tools/errors.ts";
import type { StrategyConfig, StrategyStatus } from "./config.ts";
import { signalDriven, StrategyInstance, type StoredInstance } from "./instance.ts";

/**
 * The live host of strategy instances: routes candles, signals, fills and order updates to the
 * instances and their kernels, and carries out the kernels' commands through an {@link OrderPort}
 * (the exchange's submit_order over NATS in the agent; anything in a test or the bench). It reads no
 * clock for decisions: candles and fills carry their times; `clock` stamps control changes and drives
 * the timer barrier.
 */
export interface SubmitResult {
  order: Order;
  fills: Fill[];
}

export interface OrderPort {
  submit(command: PlaceOrder, where: { account: string; venue: string }): Promise<SubmitResult>;
  /** The exchange's view of an order (after a restart, for an order that was in flight), if any. */
  lookup?(venue: string, clientOrderId: string): Promise<SubmitResult | undefined>;
}

export interface InstanceStore {
  /** Writes the record with compare-and-set on `revision` (0: create); returns the new revision. */
  save(id: string, record: StoredInstance, revision: number): Promise<number>;
  remove?(id: string): Promise<void>;
}

export interface HostOptions {
  orders: OrderPort;
  clock: () => number;
  logger: Logger;
  store?: InstanceStore;
  /** Largest |position| notional per strategy and symbol (the risk limit), if any. */
  maxNotional?: number;
  /** Called after every order answer and fill (metrics). */
  onOrder?: (instance: StrategyInstance, command: PlaceOrder, result: SubmitResult | Error) => void;
  onFill?: (instance: StrategyInstance, fill: Fill) => void;
}

const TERMINAL = new Set(["filled", "rejected", "canceled", "expired"]);

export class StrategyHost {
  readonly instances = new Map<string, StrategyInstance>();
  /** `<venue>|<symbol>` → instances trading it. */
  private readonly routes = new Map<string, Set<StrategyInstance>>();
  /** Orders being submitted (their answer, not bus events, settles them). */
  private readonly submitting = new Set<string>();
  private readonly inflight = new Set<Promise<void>>();
  private saving = new Map<string, Promise<void>>();
  /** Candles seen (any instance's or none), and the newest one's open time. */
  candles = 0;
  lastCandleTs = -1;

  constructor(readonly o: HostOptions) {}

  list(): StrategyInstance[] {
    return [...this.instances.values()];
  }

  get(id: string): StrategyInstance {
    const inst = this.instances.get(id);
    if (inst === undefined) throw new ToolError(-32003, `no strategy ${id}`, { id });
    return inst;
  }

  /** Adds an instance (created now, or restored from the store with its revision). */
  add(inst: StrategyInstance): StrategyInstance {
    if (this.instances.has(inst.config.id)) {
      throw new ToolError(-32003, `strategy ${inst.config.id} exists`, { id: inst.config.id });
    }
    if (this.o.maxNotional !== undefined) inst.reconfigure(inst.config, this.o.maxNotional);
    this.instances.set(inst.config.id, inst);
    this.route(inst);
    return inst;
  }

  async create(config: StrategyConfig): Promise<StrategyInstance> {
    const inst = this.add(StrategyInstance.fresh(config, this.o.clock()));
    try {
      await this.persist(inst, true);
    } catch (err) {
      this.unroute(inst);
      this.instances.delete(config.id);
      throw err;
    }
    return inst;
  }

  private route(inst: StrategyInstance): void {
    for (const symbol of inst.config.symbols) {
      const key = `${inst.config.venue}|${symbol}`;
      let set = this.routes.get(key);
      if (set === undefined) {
        set = new Set();
        this.routes.set(key, set);
      }
      set.add(inst);
    }
  }

  private unroute(inst: StrategyInstance): void {
    for (const set of this.routes.values()) set.delete(inst);
  }

  /** Changes the status; `stop` with `flatten` first sends the order that closes every position. */
  async setStatus(id: string, status: StrategyStatus, flatten = false): Promise<StrategyInstance> {
    const inst = this.get(id);
    if (status === "running" && inst.status === "stopped") {
      // Indicators start afresh (they warm up on new candles); positions and statistics are kept.
      inst.build(inst.stored().books, this.o.maxNotional);
    }
    if (status === "running") for (const k of inst.kernels.values()) k.book.locked = false;
    if (flatten) {
      const now = this.o.clock();
      for (const k of inst.kernels.values()) this.execute(inst, k, k.flatten(now, inst.barMs));
      await this.settle();
    }
    inst.status = status;
    inst.updatedAt = this.o.clock();
    await this.persist(inst, true);
    return inst;
  }

  /** Hot reload: new params keep the indicators unless the strategy kind or its params change. */
  async update(id: string, config: StrategyConfig): Promise<StrategyInstance> {
    const inst = this.get(id);
    const previous = inst.config;
    const sameStrategy = JSON.stringify(previous.strategy) === JSON.stringify(config.strategy);
    const sameBinding =
      previous.venue === config.venue &&
      previous.account === config.account &&
      previous.timeframe === config.timeframe &&
      JSON.stringify(previous.symbols) === JSON.stringify(config.symbols);
    if (!sameBinding) {
      throw new ToolError(
        -32003,
        "account, venue, symbols and timeframe of a strategy cannot change; create a new one",
        {
          id,
        },
      );
    }
    if (sameStrategy) inst.reconfigure(config, this.o.maxNotional);
    else {
      const books = inst.stored().books;
      inst.config = config;
      inst.build(books, this.o.maxNotional);
    }
    inst.updatedAt = this.o.clock();
    await this.persist(inst, true);
    return inst;
  }

  /** A closed candle from MARKET; `replay` candles (stored before the host or instance started) only warm up. */
  onCandle(c: Candle, storedAt?: number, liveFrom = 0): void {
    this.candles++;
    if (c.ts > this.lastCandleTs) this.lastCandleTs = c.ts;
    const set = this.routes.get(`${c.venue}|${c.symbol}`);
    if (set === undefined) return;
    for (const inst of set) {
      if (inst.config.timeframe !== c.timeframe || inst.status === "stopped") continue;
      const kernel = inst.kernels.get(c.symbol);
      if (kernel === undefined) continue;
      const replay =
        inst.status !== "running" ||
        (storedAt !== undefined && storedAt < Math.max(liveFrom, inst.createdAt));
      if (signalDriven(inst.config) && !replay) {
        const earlier = inst.waiting.get(c.symbol);
        if (earlier !== undefined) this.execute(inst, kernel, kernel.onCandle(earlier, inst.barMs));
        inst.waiting.set(c.symbol, c);
        continue;
      }
      this.execute(inst, kernel, kernel.onCandle(c, inst.barMs, replay));
      if (!replay) inst.dirty = true;
    }
  }

  /** A model signal: its probability and regime go to the kernels of its symbol; a waiting candle decides. */
  onSignal(s: Signal): void {
    const set = this.routes.get(`${s.venue}|${s.symbol}`);
    if (set === undefined) return;
    for (const inst of set) {
      const kernel = inst.kernels.get(s.symbol);
      if (kernel === undefined) continue;
      kernel.onSignal(s.ts, s.probability, s.regime);
      const waiting = inst.waiting.get(s.symbol);
      if (waiting !== undefined && waiting.ts === s.ts) {
        inst.waiting.delete(s.symbol);
        if (inst.status === "running") this.execute(inst, kernel, kernel.onCandle(waiting, inst.barMs));
      }
    }
  }

  /** A fill from the bus: applied to its strategy's kernel (deduplicated by fill id). */
  onFill(f: Fill): void {
    if (f.strategyId === undefined) return;
    const inst = this.instances.get(f.strategyId);
    const kernel = inst?.kernels.get(f.symbol);
    if (inst === undefined || kernel === undefined || f.venue !== inst.config.venue) return;
    this.applyFill(inst, kernel, f);
  }

  /** An order update from the bus: settles an order whose submit answer was lost. */
  onOrder(order: Order): void {
    if (order.strategyId === undefined || this.submitting.has(order.clientOrderId)) return;
    const inst = this.instances.get(order.strategyId);
    const kernel = inst?.kernels.get(order.symbol);
    if (inst === undefined || kernel === undefined) return;
    const open = inst.openOrders.get(order.clientOrderId);
    if (open !== undefined) open.status = order.status;
    if (TERMINAL.has(order.status)) {
      inst.openOrders.delete(order.clientOrderId);
      kernel.onOrderDone(order.clientOrderId, order.status, order.reason);
      inst.dirty = true;
    }
  }

  /** The timer barrier (time limit) for every running instance, at the host's clock. */
  onTimer(): void {
    const now = this.o.clock();
    for (const inst of this.instances.values()) {
      if (inst.status !== "running") continue;
      for (const k of inst.kernels.values()) this.execute(inst, k, k.onTimer(now, inst.barMs));
    }
  }

  /** After a restart: settles orders that were in flight by asking the exchange for them. */
  async reconcile(): Promise<void> {
    const lookup = this.o.orders.lookup;
    if (lookup === undefined) return;
    for (const inst of this.instances.values()) {
      for (const k of inst.kernels.values()) {
        const id = k.book.inFlight;
        if (id === undefined) continue;
        try {
          const found = await lookup(inst.config.venue, id);
          if (found === undefined) k.onOrderDone(id, "canceled", "not found at the exchange after a restart");
          else {
            for (const f of found.fills) this.applyFill(inst, k, f);
            if (TERMINAL.has(found.order.status)) k.onOrderDone(id, found.order.status, found.order.reason);
          }
          inst.dirty = true;
        } catch (err) {
          this.o.logger.warn(
            { err, strategy: inst.config.id, clientOrderId: id },
            "in-flight order not reconciled yet",
          );
        }
      }
    }
  }

  private applyFill(inst: StrategyInstance, kernel: StrategyKernel, f: Fill): void {
    if (kernel.hasSeenFill(f.id)) return;
    kernel.onFill({
      id: f.id,
      clientOrderId: f.clientOrderId,
      side: f.side,
      amount: f.amount,
      price: f.price,
      fee: f.fee.cost,
      timestamp: f.timestamp,
    });
    inst.counters.fills++;
    inst.dirty = true;
    this.o.onFill?.(inst, f);
  }

  private execute(inst: StrategyInstance, kernel: StrategyKernel, commands: readonly Command[]): void {
    for (const cmd of commands) {
      inst.counters.orders++;
      inst.dirty = true;
      inst.openOrders.set(cmd.clientOrderId, {
        clientOrderId: cmd.clientOrderId,
        symbol: cmd.symbol,
        side: cmd.side,
        amount: cmd.amount,
        reason: cmd.reason,
        status: "submitted",
        placedAt: kernel.book.lastBarTs,
      });
      this.submitting.add(cmd.clientOrderId);
      const work = this.o.orders
        .submit(cmd, { account: inst.config.account, venue: inst.config.venue })
        .then(
          (result) => {
            for (const f of result.fills) this.applyFill(inst, kernel, f);
            const status = result.order.status;
            const open = inst.openOrders.get(cmd.clientOrderId);
            if (open !== undefined) open.status = status;
            if (TERMINAL.has(status)) {
              inst.openOrders.delete(cmd.clientOrderId);
              kernel.onOrderDone(cmd.clientOrderId, status, result.order.reason);
            }
            this.o.onOrder?.(inst, cmd, result);
          },
          (err: unknown) => {
            const e = err instanceof Error ? err : new Error(String(err));
            // A refusal (pre-trade check, funds, bad amount) is final; a timeout or an unavailable
            // exchange leaves the order in flight until its events or a reconcile settle it.
            const final = e instanceof ToolError && (e.code === -32003 || e.code === -32602);
            if (final) {
              inst.openOrders.delete(cmd.clientOrderId);
              kernel.onOrderDone(cmd.clientOrderId, "rejected", e.message);
            }
            this.o.logger.warn(
              { err: e.message, strategy: inst.config.id, clientOrderId: cmd.clientOrderId, final },
              "order not placed",
            );
            this.o.onOrder?.(inst, cmd, e);
          },
        )
        .finally(() => {
          this.submitting.delete(cmd.clientOrderId);
          inst.dirty = true;
          this.inflight.delete(work);
          void this.persist(inst).catch((err: unknown) =>
            this.o.logger.warn({ err, strategy: inst.config.id }, "strategy state not saved"),
          );
        });
      this.inflight.add(work);
    }
  }

  /** Resolves once every order submitted so far has its answer. */
  async settle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  /** Saves an instance (when it changed, or `force`) with compare-and-set; one save at a time per instance. */
  async persist(inst: StrategyInstance, force = false): Promise<void> {
    const store = this.o.store;
    if (store === undefined) {
      inst.dirty = false;
      return;
    }
    const id = inst.config.id;
    const previous = this.saving.get(id) ?? Promise.resolve();
    const next = previous.then(async () => {
      if (!force && !inst.dirty) return;
      inst.dirty = false;
      inst.revision = await store.save(id, inst.stored(), inst.revision);
    });
    this.saving.set(
      id,
      next.catch(() => undefined),
    );
    await next;
  }

  /** Saves every changed instance (the agent calls this on a timer and at stop). */
  async persistAll(): Promise<void> {
    for (const inst of this.instances.values()) {
      if (inst.dirty) await this.persist(inst);
    }
  }
}
