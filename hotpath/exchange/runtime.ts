import { preTradeLimitsOf } from "../../core/compliance/pretrade.ts";
import type { Config } from "../../core/config.ts";
import { timeframeMs } from "../../core/domain/market.ts";
import { type Clock, MarketClock } from "../../core/ports/clock.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import { CcxtVenue, type CcxtVenueOptions } from "./ccxt-venue.ts";
import { MarketStreams } from "./market-streams.ts";
import { OrderManager } from "./oms.ts";
import { PaperFeed } from "./paper-feed.ts";
import { PaperVenue } from "./paper-venue.ts";
import type { Publisher } from "./publisher.ts";
import type { TradeHistory } from "./recovery.ts";
import type { Candle } from "../../core/domain/market.ts";
import { RiskSource } from "./risk-source.ts";
import type { Venue, VenueMode } from "../../core/ports/venue.ts";

/**
 * Everything the exchange service runs, wired once: venues (paper plus the ccxt ids of
 * EXCHANGE_VENUES), the order manager, the risk source, market streams, the paper feed and the
 * polling loop of ccxt venues. The service, the tests and the bench build it the same way.
 */
export interface ExchangeRuntimeOptions {
  config: Config;
  logger: Logger;
  publisher: Publisher;
  /** Where `<ID>_API_KEY`, `<ID>_SECRET`, `<ID>_PASSWORD`, `<ID>_API_URL` of non-Binance venues are read. */
  env?: Record<string, string | undefined>;
  /** Extra (or replacing) venues, e.g. a ccxt venue pointed at the emulator. */
  venues?: Venue[];
  /** Run the paper feed's timer (default true); tests tick it by hand. */
  feedTimer?: boolean;
  streamsMode?: "auto" | "poll";
  /** Reconcile backoff base in ms (tests shorten it). */
  reconcileDelayMs?: number;
  streamBackoffMs?: number;
  /** The one clock of paper trading: the paper venue and its feed (default the wall clock). */
  clock?: Clock;
  /** How long a submit waits for its events to be stored before answering 503 (default 5 000 ms). */
  durableTimeoutMs?: number;
}

export interface VenueConfig {
  /** The venue can trade (a ccxt venue without keys serves public data only). */
  trading: boolean;
  mode: VenueMode;
}

export function ccxtVenueOptions(
  id: string,
  config: Config,
  env: Record<string, string | undefined>,
): CcxtVenueOptions {
  const upper = id.toUpperCase();
  const pick = (suffix: string) => {
    const v = env[`${upper}_${suffix}`];
    return v === undefined || v === "" ? undefined : v;
  };
  const apiKey = id === "binance" ? config.BINANCE_API_KEY : pick("API_KEY");
  const secret = id === "binance" ? config.BINANCE_SECRET : pick("SECRET");
  const password = pick("PASSWORD");
  const apiBaseUrl = id === "binance" ? config.BINANCE_API_URL : pick("API_URL");
  const options: CcxtVenueOptions = {
    name: id,
    exchangeId: id,
    sandbox: id === "binance" && config.BINANCE_TESTNET,
  };
  if (apiKey !== undefined) options.apiKey = apiKey;
  if (secret !== undefined) options.secret = secret;
  if (password !== undefined) options.password = password;
  if (apiBaseUrl !== undefined) {
    if (!/^https?:\/\//.test(apiBaseUrl)) throw new Error(`${upper}_API_URL must be an http(s) URL`);
    options.apiBaseUrl = apiBaseUrl;
  }
  return options;
}

export class ExchangeRuntime {
  readonly venues = new Map<string, Venue>();
  readonly venueConfig = new Map<string, VenueConfig>();
  readonly oms: OrderManager;
  readonly risk: RiskSource;
  readonly streams: MarketStreams;
  readonly paper: PaperVenue;
  readonly feed: PaperFeed;
  readonly defaultVenue: string;
  private pollTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** How the last `recover` rebuilt the state (absent before it). */
  recovered: Pick<TradeHistory, "source" | "snapshotSeq" | "messages" | "ms"> | undefined;

  constructor(readonly o: ExchangeRuntimeOptions) {
    const { config } = o;
    const clock = o.clock ?? new MarketClock(timeframeMs["1m"], config.PAPER_TICK_MS);
    this.paper = new PaperVenue({
      now: () => clock.now(),
      symbols: config.PAPER_SYMBOLS,
      balances: config.PAPER_BALANCES,
      slippageBps: config.PAPER_SLIPPAGE_BPS,
    });
    this.add(this.paper);
    for (const id of config.EXCHANGE_VENUES) {
      if (id === "paper") continue;
      this.add(new CcxtVenue(ccxtVenueOptions(id, config, o.env ?? process.env)));
    }
    for (const venue of o.venues ?? []) this.add(venue);
    if (!this.venues.has(config.EXCHANGE_DEFAULT_VENUE)) {
      throw new Error(`EXCHANGE_DEFAULT_VENUE ${config.EXCHANGE_DEFAULT_VENUE} is not a configured venue`);
    }
    this.defaultVenue = config.EXCHANGE_DEFAULT_VENUE;
    this.risk = new RiskSource(config, (account) => this.oms.accountView(account), o.logger);
    this.oms = new OrderManager({
      venues: this.venues,
      publisher: o.publisher,
      risk: this.risk,
      compliance: preTradeLimitsOf(config),
      logger: o.logger,
      ...(o.reconcileDelayMs !== undefined ? { reconcileDelayMs: o.reconcileDelayMs } : {}),
      ...(o.durableTimeoutMs !== undefined ? { durableTimeoutMs: o.durableTimeoutMs } : {}),
    });
    const onPrice = (venue: string, symbol: string, price: number) => {
      this.oms.setPrice(venue, symbol, price);
    };
    this.streams = new MarketStreams({
      venues: this.venues,
      publisher: o.publisher,
      onPrice,
      logger: o.logger,
      maxReconnectAttempts: config.MAX_RECONNECT_ATTEMPTS,
      pollMs: config.EXCHANGE_POLL_MS,
      ...(o.streamBackoffMs !== undefined
        ? { backoffBaseMs: o.streamBackoffMs, backoffMaxMs: o.streamBackoffMs * 8 }
        : {}),
      mode: o.streamsMode ?? "auto",
      onOutage: (venue, err) => {
        if (this.venueConfig.get(venue)?.trading === true) this.oms.markDown(venue, err);
      },
    });
    this.feed = new PaperFeed(
      this.paper,
      o.publisher,
      (symbol, price) => onPrice(this.paper.name, symbol, price),
      {
        symbols: config.PAPER_SYMBOLS,
        seed: config.PAPER_SEED,
        tickMs: config.PAPER_TICK_MS,
        clock,
        paused: () => !o.publisher.available,
      },
    );
  }

  /** Adds (or replaces) a venue, configured as it declares itself (capabilities, keys). */
  private add(venue: Venue): void {
    this.venues.set(venue.name, venue);
    this.venueConfig.set(venue.name, { trading: venue.canTrade !== false, mode: venue.capabilities.mode });
  }

  /** Venues whose orders are polled and which resync after outages (ccxt). */
  polledVenues(): Venue[] {
    return [...this.venues.values()].filter((v) => v.capabilities.polled);
  }

  /**
   * Rebuilds the state of the previous runs before anything starts: orders (idempotency), fills,
   * positions and the paper wallet from the trade history; orders a venue without remote state never
   * received are settled as rejected; the paper market continues from its last bars. Venues with
   * remote state (ccxt) are then reconciled by their first resync (client order ids, fills, balances).
   */
  recover(history: TradeHistory, bars: ReadonlyMap<string, Candle>): void {
    this.recovered = {
      source: history.source,
      snapshotSeq: history.snapshotSeq,
      messages: history.messages,
      ms: history.ms,
    };
    // The fold's map holds the same orders keyed as the records are: its keys are reused.
    this.oms.restore(history.fold.orders, history.fills);
    this.paper.restore(history.orders, history.fills);
    for (const venue of this.venues.values()) {
      if (!venue.capabilities.remoteState) this.oms.settleUnplaced(venue.name);
    }
    this.feed.resume(bars);
  }

  /** Seeds the paper market, starts the feed, and brings ccxt venues up (in the background). */
  async start(): Promise<void> {
    await this.oms.fetchBalances(this.paper.name);
    if (this.o.feedTimer === false) this.feed.tick();
    else this.feed.start();
    for (const venue of this.polledVenues()) {
      try {
        await this.bringUp(venue);
      } catch (err) {
        this.o.logger.warn({ venue: venue.name, err }, "venue not reachable yet; retrying in the background");
      }
    }
    this.schedulePoll();
  }

  private async bringUp(venue: Venue): Promise<void> {
    if (this.venueConfig.get(venue.name)?.trading === true) await this.oms.resync(venue.name);
    else await this.oms.initPublic(venue.name);
  }

  /** Per venue: consecutive failures to bring it up, and when to try next (backoff up to 30 s). */
  private readonly retry = new Map<string, { failures: number; next: number }>();

  private schedulePoll(): void {
    if (this.stopped) return;
    this.pollTimer = setTimeout(async () => {
      for (const venue of this.polledVenues()) {
        try {
          if (this.oms.state(venue.name) !== "up") {
            const r = this.retry.get(venue.name) ?? { failures: 0, next: 0 };
            if (Date.now() < r.next) continue;
            try {
              await this.bringUp(venue);
              this.retry.delete(venue.name);
            } catch (err) {
              const failures = r.failures + 1;
              const wait = Math.min(30_000, this.o.config.EXCHANGE_POLL_MS * 2 ** (failures - 1));
              this.retry.set(venue.name, { failures, next: Date.now() + wait });
              throw err;
            }
          } else if (this.venueConfig.get(venue.name)?.trading === true) {
            await this.oms.poll(venue.name);
          }
        } catch (err) {
          this.o.logger.debug({ venue: venue.name, err }, "venue poll failed");
        }
      }
      this.schedulePoll();
    }, this.o.config.EXCHANGE_POLL_MS);
    this.pollTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pollTimer !== undefined) clearTimeout(this.pollTimer);
    this.feed.stop();
    this.streams.stop();
    this.risk.stop();
    for (const venue of this.venues.values()) await venue.close();
  }
}
