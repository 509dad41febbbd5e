import { preTradeLimitsOf } from "../../core/compliance/pretrade.ts";
import type { Config } from "../../core/config.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import { CcxtVenue, type CcxtVenueOptions } from "./ccxt-venue.ts";
import { MarketStreams } from "./market-streams.ts";
import { OrderManager } from "./oms.ts";
import { PaperFeed } from "./paper-feed.ts";
import { PaperVenue } from "./paper-venue.ts";
import type { Publisher } from "./publisher.ts";
import { RiskSource } from "./risk-source.ts";
import type { Venue } from "./venue.ts";

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
}

export interface VenueConfig {
  /** ccxt venues whose keys are present (trading), or absent (public data only). */
  trading: boolean;
  mode: "paper" | "live" | "sandbox" | "emulated" | "public_only";
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

  constructor(readonly o: ExchangeRuntimeOptions) {
    const { config } = o;
    this.paper = new PaperVenue({
      symbols: config.PAPER_SYMBOLS,
      balances: config.PAPER_BALANCES,
      slippageBps: config.PAPER_SLIPPAGE_BPS,
    });
    this.venues.set(this.paper.name, this.paper);
    this.venueConfig.set(this.paper.name, { trading: true, mode: "paper" });
    for (const id of config.EXCHANGE_VENUES) {
      if (id === "paper") continue;
      const options = ccxtVenueOptions(id, config, o.env ?? process.env);
      this.addCcxt(new CcxtVenue(options));
    }
    for (const venue of o.venues ?? []) {
      if (venue instanceof CcxtVenue) this.addCcxt(venue);
      else {
        this.venues.set(venue.name, venue);
        this.venueConfig.set(venue.name, { trading: true, mode: "paper" });
      }
    }
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
      },
    );
  }

  private addCcxt(venue: CcxtVenue): void {
    this.venues.set(venue.name, venue);
    const o = venue.options;
    const mode =
      o.apiBaseUrl !== undefined
        ? "emulated"
        : !venue.hasCredentials
          ? "public_only"
          : o.sandbox === true
            ? "sandbox"
            : "live";
    this.venueConfig.set(venue.name, { trading: venue.hasCredentials, mode });
  }

  ccxtVenues(): CcxtVenue[] {
    return [...this.venues.values()].filter((v): v is CcxtVenue => v instanceof CcxtVenue);
  }

  /** Seeds the paper market, starts the feed, and brings ccxt venues up (in the background). */
  async start(): Promise<void> {
    await this.oms.fetchBalances(this.paper.name);
    if (this.o.feedTimer === false) this.feed.tick();
    else this.feed.start();
    for (const venue of this.ccxtVenues()) {
      try {
        await this.bringUp(venue);
      } catch (err) {
        this.o.logger.warn({ venue: venue.name, err }, "venue not reachable yet; retrying in the background");
      }
    }
    this.schedulePoll();
  }

  private async bringUp(venue: CcxtVenue): Promise<void> {
    if (this.venueConfig.get(venue.name)?.trading === true) await this.oms.resync(venue.name);
    else await this.oms.initPublic(venue.name);
  }

  /** Per venue: consecutive failures to bring it up, and when to try next (backoff up to 30 s). */
  private readonly retry = new Map<string, { failures: number; next: number }>();

  private schedulePoll(): void {
    if (this.stopped) return;
    this.pollTimer = setTimeout(async () => {
      for (const venue of this.ccxtVenues()) {
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
