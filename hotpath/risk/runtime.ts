import type { KV } from "@nats-io/kv";
import type { z } from "zod";
import type { Bus } from "../../adapters/nats/bus.ts";
import { type Following, follow } from "../../adapters/nats/follow.ts";
import { waitOutOutage } from "../../adapters/nats/outage.ts";
import { publish } from "../../adapters/nats/publish.ts";
import type { Config } from "../../core/config.ts";
import type { Candle, Timeframe, Ticker } from "../../core/domain/market.ts";
import { timeframeMs } from "../../core/domain/market.ts";
import type { Position } from "../../core/domain/trading.ts";
import { type LimitsChange, envelopeOf, events, inputOf, newEvent } from "../../core/events/catalogue.ts";
import type { EventEnvelope } from "../../core/protocol/envelope.ts";
import { RiskBook } from "../../core/risk/book.ts";
import { type Estimates, ReturnWindows } from "../../core/risk/estimator.ts";
import { type RiskBreach, riskMetrics } from "../../core/risk/metrics.ts";
import {
  type LimitsPatch,
  limitsFromConfig,
  RiskLimits,
  type RiskSnapshot,
} from "../../core/risk/snapshot.ts";
import { SnapshotStore } from "../../core/exchange-state/snapshot.ts";
import { kvBuckets, riskKeys, streams, subjects } from "../../core/subjects.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import { rejected } from "../../core/tools/errors.ts";
import type { ToolContext } from "../../core/tools/tool.ts";
import type { RiskControl } from "./tools.ts";

/**
 * The risk service's live state. Each instance starts its book from the exchange's recovery snapshot
 * when there is a usable one (the fills up to an EVENTS sequence), then replays, through its own
 * ordered consumers, what EVENTS holds on `events.trade.>` after it (fills and positions; everything
 * without a snapshot) and what MARKET holds on tickers and candles,
 * then follows them live; so every replica converges on the same book. Limits live in KV
 * (`riskKeys.limits`); every replica watches that key, so a change made through any replica applies
 * everywhere. Once caught up, the instance writes each account's snapshot to KV
 * (`riskKeys.snapshot(account)`) at most every `snapshotIntervalMs`, and publishes `risk.breach` when
 * a limit becomes breached.
 */
export interface RiskRuntimeOptions {
  bus: Bus;
  config: Config;
  logger: Logger;
  /** The envelope `source` of published events. */
  source: string;
  /** Candle timeframe volatility and correlation are estimated from. Default 1m. */
  timeframe?: Timeframe;
  /** Least interval between two snapshot writes. Default 250 ms. */
  snapshotIntervalMs?: number;
  /** Bar returns kept per symbol. Default 500. */
  window?: number;
  /** The environment the limit variables are read from to know which ones it names (default process.env). */
  env?: Record<string, string | undefined>;
}

export interface RiskStats {
  fills: number;
  positions: number;
  prices: number;
  candles: number;
  malformed: number;
  snapshotsWritten: number;
  breachesPublished: number;
}

/** The trade events risk applies (fills and positions); the other trade types pass as `other`. */
const TradeInput = inputOf({ fill: [events.fill], position: [events.position] });
type TradeInput = z.infer<typeof TradeInput>;

const bus = (o: RiskRuntimeOptions) => o.bus;

export class RiskRuntime implements RiskControl {
  readonly stats: RiskStats = ((malformed: () => number) => ({
    fills: 0,
    positions: 0,
    prices: 0,
    candles: 0,
    get malformed() {
      return malformed();
    },
    snapshotsWritten: 0,
    breachesPublished: 0,
  }))(() => this.malformed());
  private readonly riskBook: RiskBook;
  private readonly windows: ReturnWindows;
  private readonly timeframe: Timeframe;
  private current: RiskLimits;
  private estimates: Estimates = { volatility: {}, symbols: [], correlation: [] };
  private estimatesStale = false;
  private readonly cache = new Map<string, RiskSnapshot>();
  private readonly dirty = new Set<string>(["default"]);
  private readonly activeBreaches = new Map<string, Set<string>>();
  private readonly stoppers: (() => Promise<void> | void)[] = [];
  private caughtUp = false;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  private constructor(
    private readonly options: RiskRuntimeOptions,
    private readonly kv: KV,
    limits: RiskLimits,
  ) {
    this.riskBook = new RiskBook({ initialEquity: initialEquity(options.config) });
    this.timeframe = options.timeframe ?? "1m";
    this.windows = new ReturnWindows(timeframeMs[this.timeframe], options.window ?? 500);
    this.current = limits;
  }

  static async start(options: RiskRuntimeOptions): Promise<RiskRuntime> {
    const kv = await options.bus.kv(kvBuckets.risk);
    const loaded = await loadLimits(kv, options.config, options.env ?? process.env, options.logger);
    const runtime = new RiskRuntime(options, kv, loaded.limits);
    if (loaded.change !== undefined) await runtime.auditStartChange(loaded.change);
    await runtime.watchLimits();
    const fromSeq = await runtime.startFromSnapshot();
    runtime.startedFromSeq = fromSeq;
    await runtime.follow(
      streams.EVENTS.name,
      subjects.trade.all,
      TradeInput,
      (e) => runtime.onTrade(e),
      true,
      fromSeq,
    );
    const tickers = envelopeOf(events.ticker).transform((e) => e.data);
    const candles = envelopeOf(events.candle).transform((e) => e.data);
    await runtime.follow(
      streams.MARKET.name,
      subjects.market.allOfKind("ticker"),
      tickers,
      (t) => runtime.onTicker(t),
      false,
    );
    await runtime.follow(
      streams.MARKET.name,
      subjects.market.allOfKind("candle"),
      candles,
      (c) => runtime.onCandle(c),
      false,
    );
    runtime.timer = setInterval(() => void runtime.flush(), options.snapshotIntervalMs ?? 250);
    runtime.timer.unref();
    return runtime;
  }

  /** The EVENTS sequence of the exchange snapshot the book started from (0: a full replay). */
  startedFromSeq = 0;

  /** True once the trade history has been replayed (snapshots are written from then on). */
  get ready(): boolean {
    return this.caughtUp;
  }

  limits(): RiskLimits {
    return this.current;
  }

  snapshot(account: string): RiskSnapshot {
    let s = this.cache.get(account);
    if (s === undefined) {
      if (this.estimatesStale) {
        this.estimates = this.windows.estimates();
        this.estimatesStale = false;
      }
      s = this.riskBook.snapshot(account, this.current, this.estimates, Date.now());
      this.cache.set(account, s);
    }
    return s;
  }

  book(account: string): { cash: number; positions: Position[] } {
    return { cash: this.riskBook.cash(account), positions: this.riskBook.ledger.list({ account }) };
  }

  async changeLimits(
    patch: LimitsPatch,
    kind: "limits" | "kill_switch",
    reason: string | undefined,
    ctx: ToolContext,
  ): Promise<{ previous: RiskLimits; limits: RiskLimits; changed: string[] }> {
    const key = riskKeys.limits;
    for (let attempt = 0; attempt < 5; attempt++) {
      const entry = await this.kv.get(key);
      const previous =
        entry === null || entry.operation !== "PUT" ? this.current : parseLimits(jsonOf(entry), this.current);
      const next = RiskLimits.safeParse({ ...previous, ...patch });
      if (!next.success) throw rejected(`limits would be invalid: ${next.error.issues[0]?.message ?? "?"}`);
      const limits = next.data;
      const changed = (Object.keys(limits) as (keyof RiskLimits)[]).filter((k) => limits[k] !== previous[k]);
      let revision: number;
      try {
        revision =
          entry === null
            ? await this.kv.create(key, JSON.stringify(limits))
            : await this.kv.update(key, JSON.stringify(limits), entry.revision);
      } catch (err) {
        this.options.logger.debug({ err, attempt }, "limits changed concurrently; retrying");
        continue;
      }
      this.applyLimits(limits);
      // Rewrite the snapshots now, so the exchange sees the new limits when this call returns.
      await this.flushing;
      await this.flush();
      const event = newEvent(kind === "limits" ? events.limits : events.killSwitch, {
        source: this.options.source,
        id: [revision],
        correlationid: ctx.correlationId,
        causationid: ctx.requestId,
        data: { previous, limits, changed, reason: reason ?? null, revision, transport: ctx.transport },
      });
      await this.publishWithRetry(event);
      ctx.logger.info({ kind, changed, revision, reason }, "risk limits changed");
      return { previous, limits, changed };
    }
    throw rejected("limits are being changed concurrently; try again");
  }

  /** Records on EVENTS (→ AUDIT through compliance) a change of limits the environment made at start. */
  private async auditStartChange(change: StartChange): Promise<void> {
    const event = newEvent<LimitsChange>(events.limits, {
      source: this.options.source,
      id: [change.revision],
      data: {
        previous: change.previous,
        limits: change.limits,
        changed: change.changed,
        reason: change.reason,
        revision: change.revision,
        transport: "environment",
      },
    });
    try {
      await this.publishWithRetry(event);
    } catch (err) {
      this.options.logger.error({ err, ...change }, "limits change at start not recorded on EVENTS");
    }
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.stopped = true;
    for (const stop of this.stoppers.splice(0)) await stop();
    await this.stopLimitsWatch?.();
    await this.flushing;
  }

  // ── inputs ────────────────────────────────────────────────────────────────────────────────────

  private readonly follows: Following[] = [];
  private stopLimitsWatch: (() => Promise<void> | void) | undefined;
  private stopped = false;

  /**
   * The book's start state from the exchange's recovery snapshot (core/exchange-state/snapshot.ts:
   * every fill up to an EVENTS sequence), so only the events after it are replayed — the same state,
   * from the same fills in the same order, that the exchange starts from. Returns the sequence covered
   * (0: no usable snapshot, replay all of EVENTS).
   */
  private async startFromSnapshot(): Promise<number> {
    const { bus, logger } = this.options;
    const info = await bus.jsm.streams.info(streams.EVENTS.name);
    const loaded = await (await SnapshotStore.open(bus)).load(
      { name: info.config.name, created: info.created, lastSeq: info.state.last_seq },
      { fillsOnly: true },
    );
    if (!("fold" in loaded)) return 0;
    for (const fill of loaded.fold.fills.values()) {
      if (!this.riskBook.applyFill(fill)) continue;
      this.stats.fills++;
      this.touch(fill.account);
    }
    logger.info(
      { seq: loaded.meta.seq, fills: loaded.meta.fills },
      "risk book started from the exchange snapshot",
    );
    return loaded.meta.seq;
  }

  /** Replays then follows one input (after `afterSeq`); the trade history gates readiness (snapshots wait for it). */
  private async follow<T>(
    stream: string,
    filter: string,
    schema: z.ZodType<T>,
    handle: (value: T) => void,
    gatesReadiness: boolean,
    afterSeq = 0,
  ): Promise<void> {
    const f = await follow(bus(this.options), stream, filter, schema, handle, {
      logger: this.options.logger,
      name: `risk ${filter}`,
      // The trade history (the follow that gates readiness) is most of EVENTS: read it unfiltered (`pick`).
      pick: gatesReadiness,
      ...(afterSeq > 0 ? { from: { seq: afterSeq + 1 } } : {}),
    });
    this.follows.push(f);
    if (gatesReadiness) {
      void f.caughtUp.then(() => {
        this.caughtUp = true;
        this.options.logger.info(
          { fills: this.stats.fills, positions: this.stats.positions },
          "risk state replayed",
        );
      });
    }
    if (this.follows.length === 1) {
      this.stoppers.push(() => Promise.all(this.follows.map((x) => x.stop())).then(() => undefined));
      this.rewatchOnReconnect();
    }
  }

  /** Messages the inputs skipped as malformed. */
  private malformed(): number {
    return this.follows.reduce((n, f) => n + f.stats.rejected, 0);
  }

  /**
   * After the bus reconnects the limits watch is opened again (the followers reopen themselves,
   * adapters/nats/follow.ts).
   */
  private rewatchOnReconnect(): void {
    const { logger } = this.options;
    const b = bus(this.options);
    void (async () => {
      for await (const s of b.nc.status()) {
        if (s.type !== "reconnect" || this.stopped) continue;
        await waitOutOutage(
          b,
          "risk limits watch",
          async () => {
            await this.stopLimitsWatch?.();
            await this.watchLimits();
          },
          logger,
        ).catch((err: unknown) => logger.error({ err }, "limits watch not reopened"));
      }
    })().catch(() => undefined);
  }

  private onTrade(e: TradeInput): void {
    if (e.kind === "fill") {
      if (this.riskBook.applyFill(e.data)) {
        this.stats.fills++;
        this.touch(e.data.account);
      }
    } else if (e.kind === "position") {
      this.stats.positions++;
      if (this.riskBook.applyPosition(e.data)) this.touch(e.data.account);
    }
  }

  private onTicker(ticker: Ticker): void {
    this.stats.prices++;
    if (this.riskBook.applyPrice(ticker.symbol, ticker.last, ticker.timestamp)) this.touchAll();
  }

  private onCandle(candle: Candle): void {
    this.stats.candles++;
    const closeTime = candle.ts + timeframeMs[candle.timeframe];
    if (this.riskBook.applyPrice(candle.symbol, candle.close, closeTime)) this.touchAll();
    if (
      candle.timeframe === this.timeframe &&
      this.windows.addClose(candle.symbol, candle.ts, candle.close)
    ) {
      this.estimatesStale = true;
      this.touchAll();
    }
  }

  private async watchLimits(): Promise<void> {
    const watcher = await this.kv.watch({ key: riskKeys.limits });
    this.stopLimitsWatch = () => watcher.stop();
    void (async () => {
      for await (const entry of watcher) {
        if (entry.operation !== "PUT") continue;
        try {
          this.applyLimits(RiskLimits.parse(jsonOf(entry)));
        } catch (err) {
          this.options.logger.error({ err, revision: entry.revision }, "invalid limits in KV ignored");
        }
      }
    })().catch((err: unknown) => this.options.logger.error({ err }, "limits watch stopped"));
  }

  private applyLimits(limits: RiskLimits): void {
    if (JSON.stringify(limits) === JSON.stringify(this.current)) return;
    this.current = limits;
    this.touchAll();
  }

  private touch(account: string): void {
    this.dirty.add(account);
    this.cache.delete(account);
  }

  private touchAll(): void {
    for (const a of this.riskBook.accounts()) this.dirty.add(a);
    this.dirty.add("default");
    this.cache.clear();
  }

  // ── outputs ───────────────────────────────────────────────────────────────────────────────────

  /** Writes the snapshot of every changed account and publishes newly breached limits. */
  flush(): Promise<void> {
    if (!this.caughtUp || this.dirty.size === 0 || this.flushing !== undefined)
      return this.flushing ?? Promise.resolve();
    const accounts = [...this.dirty];
    this.dirty.clear();
    this.flushing = (async () => {
      for (const account of accounts) {
        const snapshot = this.snapshot(account);
        let key: string;
        try {
          key = riskKeys.snapshot(account);
        } catch (err) {
          // Not a key token (an account from before accounts were validated): never retried.
          this.options.logger.error({ err, account }, "risk snapshot of an unkeyable account not written");
          continue;
        }
        try {
          await this.kv.put(key, JSON.stringify(snapshot));
          this.stats.snapshotsWritten++;
          await this.publishBreaches(account, riskMetrics(snapshot).breaches, snapshot.updatedAt);
        } catch (err) {
          this.dirty.add(account);
          this.options.logger.warn({ err, account }, "risk snapshot not written; will retry");
        }
      }
    })().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async publishBreaches(account: string, breaches: RiskBreach[], at: number): Promise<void> {
    const active = this.activeBreaches.get(account) ?? new Set<string>();
    const now = new Set(breaches.map((b) => b.check));
    for (const breach of breaches) {
      if (active.has(breach.check)) continue;
      await publish(this.options.bus, events.riskBreach, {
        source: this.options.source,
        id: [account, breach.check, at],
        data: { account, ...breach, limits: this.current, at },
      });
      this.stats.breachesPublished++;
      this.options.logger.warn({ account, ...breach }, "risk limit breached");
    }
    this.activeBreaches.set(account, now);
  }

  private async publishWithRetry(event: EventEnvelope): Promise<void> {
    let last: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.options.bus.publishEvent(event);
        return;
      } catch (err) {
        last = err;
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
    throw last;
  }
}

/** RISK_INITIAL_EQUITY, else the paper account's USDT (PAPER_BALANCES), else 100,000. */
export function initialEquity(config: Pick<Config, "RISK_INITIAL_EQUITY" | "PAPER_BALANCES">): number {
  return config.RISK_INITIAL_EQUITY ?? config.PAPER_BALANCES["USDT"] ?? 100_000;
}

function jsonOf(entry: { json<T>(): T }): unknown {
  try {
    return entry.json<unknown>();
  } catch {
    return undefined;
  }
}

function parseLimits(raw: unknown, fallback: RiskLimits): RiskLimits {
  const parsed = RiskLimits.safeParse(raw);
  return parsed.success ? parsed.data : fallback;
}

/** The limit variables and the limit each one sets. */
const LIMIT_VARIABLES = [
  ["MAX_POSITION_SIZE", "maxPositionSize"],
  ["MAX_PORTFOLIO_RISK", "maxPortfolioRisk"],
  ["MAX_CORRELATION", "maxCorrelation"],
  ["MAX_LEVERAGE", "maxLeverage"],
] as const;

interface StartChange {
  previous: RiskLimits | null;
  limits: RiskLimits;
  changed: string[];
  reason: string;
  revision: number;
}

/**
 * The limits in force at start, by one rule: a limit variable the environment names at start replaces
 * the stored value (the change is logged and recorded, with the previous value); limits the environment
 * does not name keep their stored value, so a `set_limits` change lasts until the environment names
 * that variable again. With nothing stored, the configured limits (environment or defaults) are stored.
 */
export function limitsAtStart(
  stored: RiskLimits | undefined,
  config: Config,
  env: Record<string, string | undefined>,
): { limits: RiskLimits; changed: (keyof RiskLimits)[]; named: string[] } {
  const configured = limitsFromConfig(config);
  if (stored === undefined) {
    return { limits: configured, changed: Object.keys(configured) as (keyof RiskLimits)[], named: [] };
  }
  const named = LIMIT_VARIABLES.filter(([name]) => env[name] !== undefined && env[name] !== "");
  const limits: RiskLimits = { ...stored };
  const changed: (keyof RiskLimits)[] = [];
  for (const [, field] of named) {
    if (limits[field] !== configured[field]) {
      limits[field] = configured[field];
      changed.push(field);
    }
  }
  return { limits, changed, named: named.map(([name]) => `${name}=${env[name]}`) };
}

/** The limits at start (see {@link limitsAtStart}), stored with compare-and-set. */
async function loadLimits(
  kv: KV,
  config: Config,
  env: Record<string, string | undefined>,
  logger: Logger,
): Promise<{ limits: RiskLimits; change?: StartChange }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const entry = await kv.get(riskKeys.limits);
    let stored: RiskLimits | undefined;
    if (entry !== null && entry.operation === "PUT") {
      const parsed = RiskLimits.safeParse(jsonOf(entry));
      if (parsed.success) stored = parsed.data;
      else
        logger.error({ issues: parsed.error.issues }, "limits in KV are invalid; using the configured ones");
    }
    const next = limitsAtStart(stored, config, env);
    if (stored !== undefined && next.changed.length === 0) return { limits: stored };
    try {
      const revision =
        entry === null
          ? await kv.create(riskKeys.limits, JSON.stringify(next.limits))
          : await kv.update(riskKeys.limits, JSON.stringify(next.limits), entry.revision);
      const reason =
        stored === undefined
          ? "no stored limits: the configured ones (environment or defaults) are stored"
          : `the environment names ${next.named.join(", ")} at start, which replaces the stored value`;
      const change: StartChange = {
        previous: stored ?? null,
        limits: next.limits,
        changed: next.changed,
        reason,
        revision,
      };
      logger.warn(
        { previous: stored ?? null, limits: next.limits, changed: next.changed, reason },
        "risk limits set at start",
      );
      return { limits: next.limits, change };
    } catch (err) {
      logger.debug({ err, attempt }, "limits changed concurrently at start; reading them again");
    }
  }
  const again = await kv.get(riskKeys.limits);
  return {
    limits: again === null ? limitsFromConfig(config) : parseLimits(jsonOf(again), limitsFromConfig(config)),
  };
}
