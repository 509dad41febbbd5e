import { DeliverPolicy, type JsMsg } from "@nats-io/jetstream";
import type { Bus } from "../../adapters/nats/bus.ts";
import { Candle } from "../../core/domain/market.ts";
import type { Fill, Order } from "../../core/domain/trading.ts";
import { streams, subjects } from "../../core/subjects.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import type { SnapshotStore } from "../../core/exchange-state/snapshot.ts";
import { TradeFold } from "../../core/exchange-state/trade-fold.ts";

/**
 * What the exchange rebuilds its state from at start: every order and fill it published (the latest
 * state of each order, see trade-fold.ts), and the last paper bar of each symbol (MARKET, last message
 * per subject). With a snapshot store, the snapshot (the fold up to an EVENTS sequence) is loaded and
 * only the events after its sequence are replayed; an absent, corrupted or incompatible snapshot falls
 * back to a full replay of `events.trade.>`, with a warning saying why. Both give the same history.
 */
export interface TradeHistory {
  orders: Order[];
  fills: Fill[];
  /** Messages replayed (the tail after the snapshot, or all of them), and how long recovery took. */
  messages: number;
  ms: number;
  /** Of `ms`: loading the snapshot (read, verify, decode; 0 without a store), then replaying EVENTS. */
  loadMs: number;
  replayMs: number;
  /** Where the history came from, and the sequence the snapshot covered (0 for a full replay). */
  source: "snapshot" | "replay";
  snapshotSeq: number;
  /** The fold, kept up to date by the snapshotter afterwards. */
  fold: TradeFold;
}

/**
 * Folds every `events.trade.>` message after `fold.seq` into `fold`: an ordered consumer of EVENTS from
 * there (unfiltered, the trade subjects picked here) up to the stream's last `events.trade.>` message
 * (looked up first), then again for anything stored meanwhile, until nothing follows. Unreadable events are logged and skipped. A delivery that stalls
 * for `STALL_MS` is abandoned and the read resumes from `fold.seq` with a new consumer (the fold is
 * sequential, so resuming is exact).
 */
export async function replayTrades(bus: Bus, fold: TradeFold, logger: Logger): Promise<number> {
  const stream = streams.EVENTS.name;
  let messages = 0;
  let malformed = 0;
  const skipped = (err: unknown, seq: number) => {
    malformed++;
    if (malformed <= 5) logger.warn({ err, seq }, "unreadable trade event skipped in recovery");
  };
  for (;;) {
    const last = await bus.jsm.streams.getMessage(stream, { last_by_subj: subjects.trade.all });
    if (last === null || last.seq <= fold.seq) return messages;
    // No server-side filter: nats-server 2.9 spent up to ~100 µs of CPU per message delivered through a
    // filtered consumer (500 ms for a 5,000-event tail, seen again and again on a restarted server over
    // a 500,000-message store; 20–60 ms other times) and ~4 µs without one, so the stream is read whole
    // from there and the trade events picked here by subject (the rest is not even decoded).
    const consumer = await bus.js.consumers.get(stream, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: fold.seq + 1,
    });
    const iter = await consumer.consume({ max_messages: 4_096 });
    const passStart = messages;
    const stall = setTimeout(() => {
      logger.warn(
        { seq: fold.seq, until: last.seq, received: messages - passStart },
        "trade replay stalled; resuming with a new consumer",
      );
      iter.stop();
    }, STALL_MS);
    try {
      for await (const m of iter) {
        stall.refresh();
        if (m.subject.startsWith(TRADE_PREFIX)) {
          messages++;
          foldIn(fold, m, skipped);
        } else fold.apply(m.seq, {});
        if (m.seq >= last.seq) break;
      }
    } finally {
      clearTimeout(stall);
      await iter.close();
    }
  }
}

const STALL_MS = 5_000;
/** `events.trade.`: the subjects of `subjects.trade.all`. */
const TRADE_PREFIX = subjects.trade.all.slice(0, -1);

/** Folds one stored message; an unreadable one is handed to `skipped` (its sequence still counts). */
function foldIn(fold: TradeFold, m: JsMsg, skipped: (err: unknown, seq: number) => void): void {
  // Positions are not folded (they are recomputed from the fills): not even decoded.
  if (m.subject === subjects.trade.position) {
    fold.apply(m.seq, {});
    return;
  }
  try {
    fold.apply(m.seq, m.json<{ source?: string; type?: string; data?: unknown }>());
  } catch (err) {
    skipped(err, m.seq);
  }
}

export async function readTradeHistory(
  bus: Bus,
  logger: Logger,
  store?: SnapshotStore,
): Promise<TradeHistory> {
  const started = performance.now();
  let fold = new TradeFold();
  let source: TradeHistory["source"] = "replay";
  let unused: { problem: string; reason: string } | undefined;
  if (store !== undefined) {
    const info = await bus.jsm.streams.info(streams.EVENTS.name);
    const loaded = await store.load({
      name: info.config.name,
      created: info.created,
      lastSeq: info.state.last_seq,
    });
    if ("fold" in loaded) {
      fold = loaded.fold;
      source = "snapshot";
      if (info.state.first_seq > fold.seq + 1) {
        logger.warn(
          { snapshotSeq: fold.seq, firstSeq: info.state.first_seq },
          "EVENTS no longer holds every message after the snapshot (expired): those events are lost to recovery",
        );
      }
    } else unused = loaded;
  }
  const snapshotSeq = fold.seq;
  const loaded = performance.now();
  const messages = await replayTrades(bus, fold, logger);
  const replayed = performance.now();
  if (unused !== undefined && (unused.problem !== "absent" || messages > 0)) {
    logger.warn({ ...unused, messages }, "exchange snapshot not used: replayed all of EVENTS");
  }
  const ms = performance.now() - started;
  return {
    orders: [...fold.orders.values()],
    fills: [...fold.fills.values()],
    messages,
    ms,
    loadMs: loaded - started,
    replayMs: replayed - loaded,
    source,
    snapshotSeq,
    fold,
  };
}

/** The last candle MARKET holds for each paper symbol (undefined for symbols without one). */
export async function lastBars(
  bus: Bus,
  venue: string,
  symbols: readonly string[],
): Promise<Map<string, Candle>> {
  const out = new Map<string, Candle>();
  for (const symbol of symbols) {
    try {
      const m = await bus.jsm.streams.getMessage(streams.MARKET.name, {
        last_by_subj: subjects.market.of(venue, "candle", symbol),
      });
      if (m === null) continue;
      const parsed = Candle.safeParse(m.json<{ data?: unknown }>().data);
      if (parsed.success) out.set(symbol, parsed.data);
    } catch {
      // no bar for this symbol yet
    }
  }
  return out;
}
