import { events } from "../../core/events/catalogue.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import type { Publisher } from "./publisher.ts";
import type { MarketDataSource, StreamKind, Venue } from "../../core/ports/venue.ts";

export type { StreamKind, TradePrint } from "../../core/ports/venue.ts";

/**
 * Market streams of ccxt venues, published to the MARKET stream (`subjects.market.of(venue, kind,
 * symbol)`, types from `marketEventType`). Each (venue, symbol, kind) runs one loop:
 *
 * - `watch` mode: ccxt.pro's watchTicker / watchOrderBook / watchTrades, when ccxt has a websocket
 *   class for the exchange that implements the method;
 * - `poll` mode otherwise (or when forced, or when the REST URLs are overridden without a websocket
 *   override): fetchTicker / fetchOrderBook / fetchTrades every `pollMs`.
 *
 * A failure is retried with exponential backoff (base · 2^(n−1), capped); after `maxReconnectAttempts`
 * consecutive failures (MAX_RECONNECT_ATTEMPTS) the stream is reported `down` and a `stream.down`
 * event is published on `events.exchange.stream_down`; a later subscribe restarts it. Every failure
 * is also reported through `onOutage`, so the order manager resyncs the venue (open orders, fills,
 * balances) before it accepts orders for it again. Only venues with the `marketData` capability are
 * streamed; the paper venue has none: its feed publishes candles, tickers and books for its symbols already.
 */
export interface StreamStatus {
  venue: string;
  symbol: string;
  kind: StreamKind;
  mode: "watch" | "poll" | "feed";
  state: "starting" | "up" | "reconnecting" | "down" | "stopped";
  messages: number;
  reconnects: number;
  last_message_at?: number;
  last_error?: string;
}

export interface MarketStreamsOptions {
  venues: ReadonlyMap<string, Venue>;
  publisher: Publisher;
  onPrice: (venue: string, symbol: string, price: number) => void;
  logger: Logger;
  maxReconnectAttempts: number;
  pollMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** "poll" forces polling everywhere. */
  mode?: "auto" | "poll";
  /** Called on every stream failure: the venue's order state may have moved unseen (resync it). */
  onOutage?: (venue: string, err: unknown) => void;
}

interface Stream {
  status: StreamStatus;
  stopped: boolean;
  wake?: () => void;
}

export class MarketStreams {
  private readonly streams = new Map<string, Stream>();

  constructor(private readonly o: MarketStreamsOptions) {}

  subscribe(venueName: string, symbol: string, kinds: readonly StreamKind[]): StreamStatus[] {
    const venue = this.o.venues.get(venueName);
    if (venue === undefined) throw new Error(`unknown venue "${venueName}"`);
    return kinds.map((kind) => {
      const key = `${venueName}|${symbol}|${kind}`;
      const existing = this.streams.get(key);
      if (existing !== undefined && existing.status.state !== "down" && existing.status.state !== "stopped") {
        return { ...existing.status };
      }
      const source = venue.marketData;
      if (source === undefined) {
        const status: StreamStatus = {
          venue: venueName,
          symbol,
          kind,
          mode: "feed",
          state: "up",
          messages: 0,
          reconnects: 0,
        };
        this.streams.set(key, { status, stopped: false });
        return { ...status };
      }
      const mode = this.o.mode !== "poll" && source.canWatch(kind) ? "watch" : "poll";
      const stream: Stream = {
        status: { venue: venueName, symbol, kind, mode, state: "starting", messages: 0, reconnects: 0 },
        stopped: false,
      };
      this.streams.set(key, stream);
      void this.run(source, stream);
      return { ...stream.status };
    });
  }

  unsubscribe(venueName: string, symbol: string, kinds: readonly StreamKind[]): StreamStatus[] {
    const out: StreamStatus[] = [];
    for (const kind of kinds) {
      const key = `${venueName}|${symbol}|${kind}`;
      const stream = this.streams.get(key);
      if (stream === undefined) continue;
      stream.stopped = true;
      stream.status.state = "stopped";
      stream.wake?.();
      this.streams.delete(key);
      out.push({ ...stream.status });
    }
    return out;
  }

  list(venue?: string): StreamStatus[] {
    return [...this.streams.values()]
      .filter((s) => venue === undefined || s.status.venue === venue)
      .map((s) => ({ ...s.status }));
  }

  stop(): void {
    for (const s of this.streams.values()) {
      s.stopped = true;
      s.status.state = "stopped";
      s.wake?.();
    }
    this.streams.clear();
  }

  private sleep(stream: Stream, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        stream.wake = undefined;
        resolve();
      }
      stream.wake = done;
    });
  }

  private async next(venue: MarketDataSource, stream: Stream): Promise<void> {
    const { symbol, kind, mode } = stream.status;
    if (mode === "poll") await this.sleep(stream, this.o.pollMs ?? 1_000);
    if (stream.stopped) return;
    const data =
      mode === "watch"
        ? await venue.watch(kind, symbol)
        : kind === "ticker"
          ? await venue.fetchTicker(symbol)
          : kind === "book"
            ? await venue.fetchOrderBook(symbol)
            : await venue.fetchTrades(symbol);
    if (stream.stopped) return;
    this.publish(stream.status, data);
  }

  private publish(status: StreamStatus, data: Awaited<ReturnType<MarketDataSource["watch"]>>): void {
    const { venue, symbol } = status;
    if (Array.isArray(data)) {
      // Polls return overlapping windows: the publisher drops trade ids it has already published.
      for (const t of data) this.o.publisher.market(venue, "trade", symbol, t, t.id);
      const newest = data.at(-1);
      if (newest !== undefined) this.o.onPrice(venue, symbol, newest.price);
    } else if ("last" in data) {
      this.o.publisher.market(venue, "ticker", symbol, data, data.timestamp);
      this.o.onPrice(venue, symbol, data.last);
    } else {
      this.o.publisher.market(venue, "book", symbol, data, data.timestamp);
    }
    status.messages += 1;
    status.last_message_at = Date.now();
  }

  private async run(venue: MarketDataSource, stream: Stream): Promise<void> {
    const s = stream.status;
    const base = this.o.backoffBaseMs ?? 500;
    const cap = this.o.backoffMaxMs ?? 30_000;
    let failures = 0;
    while (!stream.stopped) {
      try {
        await this.next(venue, stream);
        if (stream.stopped) break;
        failures = 0;
        s.state = "up";
      } catch (err) {
        failures += 1;
        s.last_error = err instanceof Error ? err.message : String(err);
        this.o.onOutage?.(s.venue, err);
        if (failures > this.o.maxReconnectAttempts) {
          s.state = "down";
          this.o.logger.error({ venue: s.venue, symbol: s.symbol, kind: s.kind, err }, "market stream down");
          this.o.publisher.notice(
            events.streamDown,
            {
              venue: s.venue,
              symbol: s.symbol,
              kind: s.kind,
              attempts: failures - 1,
              lastError: s.last_error,
            },
            [s.venue, s.kind, s.symbol, Date.now()],
          );
          return;
        }
        s.state = "reconnecting";
        s.reconnects += 1;
        await this.sleep(stream, Math.min(cap, base * 2 ** (failures - 1)));
      }
    }
  }
}
