import { type Candle, timeframeMs } from "../../core/domain/market.ts";
import {
  bookFromCandle,
  createMarketSimulator,
  type MarketSimulator,
  tickerFromCandle,
} from "../../core/market/simulator.ts";
import { type Clock, MarketClock, systemClock } from "../../core/ports/clock.ts";
import { candleOnTick } from "../../core/market/tick.ts";
import type { PaperVenue } from "./paper-venue.ts";
import type { Publisher } from "./publisher.ts";

/**
 * Drives the paper venue from the seeded market simulator (core/market/simulator.ts) so paper trading
 * runs end to end offline. Every tick draws one 1-minute bar per symbol and, in this order: evaluates
 * the venue's resting orders against the bar (candle fill model), installs the book built around the
 * bar's close (arriving orders fill against it), then publishes the candle, the ticker and the book to
 * the MARKET stream. Simulated time starts at the current minute and advances one bar per tick, so a
 * 1-second tick runs the market 60× faster than the wall clock. With a `MarketClock` the feed moves
 * that clock to each bar's close before anything trades on the bar: paper orders, fills and positions
 * then carry the market's time, the one time base of a paper run.
 */
export interface PaperFeedOptions {
  symbols: readonly string[];
  seed: number | string;
  tickMs: number;
  /** Start price per symbol; default 50 000 for BTC, 3 000 for ETH, 100 otherwise. */
  startPrices?: Record<string, number>;
  start?: number;
  /** The clock the simulated market starts from (the venue's clock; default the wall clock). */
  clock?: Clock;
  /** While true, ticks draw nothing (the bus is down: no bar, so no resting fill, is lost). */
  paused?: () => boolean;
}

const defaultStart = (symbol: string) =>
  symbol.startsWith("BTC/") ? 50_000 : symbol.startsWith("ETH/") ? 3_000 : 100;

export class PaperFeed {
  private sims: MarketSimulator[];
  private timer: NodeJS.Timeout | undefined;
  bars = 0;

  constructor(
    private readonly venue: PaperVenue,
    private readonly publisher: Publisher,
    private readonly onPrice: (symbol: string, price: number) => void,
    private readonly options: PaperFeedOptions,
  ) {
    const start = options.start ?? (options.clock ?? systemClock).now();
    this.sims = options.symbols.map((symbol) =>
      createMarketSimulator({
        venue: venue.name,
        symbol,
        timeframe: "1m",
        start: start - (start % timeframeMs["1m"]),
        seed: `${options.seed}:${symbol}`,
        start_price: options.startPrices?.[symbol] ?? defaultStart(symbol),
      }),
    );
  }

  /**
   * Continues the market from the last bar of a previous run (its close becomes the next open) instead
   * of the seed's first price; symbols without a last bar keep their fresh simulator.
   */
  resume(last: ReadonlyMap<string, Candle>, now = (this.options.clock ?? systemClock).now()): void {
    this.sims = this.options.symbols.map((symbol, i) => {
      const bar = last.get(symbol);
      if (bar === undefined) return this.sims[i] as MarketSimulator;
      const start = Math.max(now - (now % timeframeMs["1m"]), bar.ts + timeframeMs["1m"]);
      return createMarketSimulator({
        venue: this.venue.name,
        symbol,
        timeframe: "1m",
        start,
        seed: `${this.options.seed}:${symbol}:${bar.ts}`,
        start_price: bar.close,
      });
    });
  }

  /** One bar for every symbol; returns the candles. */
  tick(): Candle[] {
    if (this.options.paused?.() === true) return [];
    const candles: Candle[] = [];
    const clock = this.options.clock;
    for (const sim of this.sims) {
      // Prices on the paper market's tick (PaperVenue.market), so its book is one orders can be priced on.
      const tickSize = this.venue.market(sim.params.symbol)?.tickSize;
      const raw = sim.next().candle;
      const candle = tickSize === undefined ? raw : candleOnTick(raw, tickSize);
      if (clock instanceof MarketClock) clock.advance(candle.ts + timeframeMs["1m"]);
      this.venue.onCandle(candle);
      const book = bookFromCandle(candle, tickSize === undefined ? {} : { tickSize });
      this.venue.onBook(book);
      const ticker = tickerFromCandle(candle, tickSize === undefined ? {} : { tickSize });
      this.onPrice(candle.symbol, candle.close);
      this.publisher.market(this.venue.name, "candle", candle.symbol, candle, candle.ts);
      this.publisher.market(this.venue.name, "ticker", candle.symbol, ticker, ticker.timestamp);
      this.publisher.market(this.venue.name, "book", candle.symbol, book, book.timestamp);
      candles.push(candle);
    }
    this.bars += 1;
    return candles;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.options.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }
}
