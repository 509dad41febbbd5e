import type { Bus } from "../../adapters/nats/bus.ts";
import { streams } from "../../core/subjects.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import { replayTrades } from "./recovery.ts";
import type { SnapshotMeta, SnapshotStore } from "../../core/exchange-state/snapshot.ts";
import type { TradeFold } from "../../core/exchange-state/trade-fold.ts";

/**
 * Keeps the recovery snapshot fresh while the exchange runs. The fold recovered at start is caught up
 * by reading back from EVENTS what was stored since (the same replay as recovery, so the snapshot is
 * exactly the fold of the stream up to its sequence, never the order manager's view of it). Every
 * `intervalMs` (1 s) it catches up when the publisher has stored something new, and writes a snapshot
 * once `everyEvents` (5,000) trade events were folded since the last one or the oldest unsaved one is
 * `maxAgeMs` (30 s) old, whichever comes first — so the tail a crash leaves to replay is at most
 * `everyEvents` plus what one interval and one write add. `final` (graceful stop, after the
 * publisher's flush) catches up to the end and writes whatever is newer. A start after a long replay
 * writes one at the first interval. Passes run one at a time, on timers, never on the submit path (the
 * write itself yields to the event loop, see columns.ts); a failed write is logged and retried at the
 * next pass.
 */
export interface SnapshotterOptions {
  bus: Bus;
  store: SnapshotStore;
  fold: TradeFold;
  logger: Logger;
  /** EVENTS sequence of the last trade event this process stored (the publisher's `lastSeq`). */
  lastSeq: () => number;
  /** Trade events already folded and not in any snapshot (the tail replayed at start). */
  unsaved?: number;
  /** Sequence of the stored snapshot the fold started from (0: none). */
  savedSeq?: number;
  everyEvents?: number;
  /** Longest an unsaved trade event waits for a snapshot. */
  maxAgeMs?: number;
  intervalMs?: number;
}

export const SNAPSHOT_EVERY_EVENTS = 5_000;
export const SNAPSHOT_MAX_AGE_MS = 30_000;
export const SNAPSHOT_INTERVAL_MS = 1_000;

export class Snapshotter {
  private unsaved: number;
  private savedSeq: number;
  /** When the oldest unsaved event was folded (undefined: nothing unsaved). */
  private unsavedSince: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  /** Snapshots written by this process. */
  written = 0;

  constructor(private readonly o: SnapshotterOptions) {
    this.unsaved = o.unsaved ?? 0;
    this.savedSeq = o.savedSeq ?? 0;
    if (this.unsaved > 0) this.unsavedSince = Date.now();
  }

  /** A snapshot is due: at a stop whenever the fold moved; else after N events or T ms, whichever first. */
  private due(final: boolean): boolean {
    const { fold } = this.o;
    if (final) return fold.seq > this.savedSeq;
    if (this.unsaved === 0) return false;
    if (this.unsaved >= (this.o.everyEvents ?? SNAPSHOT_EVERY_EVENTS)) return true;
    return Date.now() - (this.unsavedSince ?? Date.now()) >= (this.o.maxAgeMs ?? SNAPSHOT_MAX_AGE_MS);
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      void this.run(() => this.pass(false));
    }, this.o.intervalMs ?? SNAPSHOT_INTERVAL_MS);
    this.timer.unref();
  }

  /** Stops the timer (no further writes). */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops the timer, catches up to the end of EVENTS and writes a snapshot if the fold moved. */
  async final(): Promise<SnapshotMeta | undefined> {
    this.stop();
    return this.run(() => this.pass(true));
  }

  private run<T>(job: () => Promise<T>): Promise<T> {
    const next = this.chain.then(job);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async pass(final: boolean): Promise<SnapshotMeta | undefined> {
    const { fold, logger } = this.o;
    try {
      if (final || this.o.lastSeq() > fold.seq) {
        const folded = await replayTrades(this.o.bus, fold, logger);
        if (folded > 0 && this.unsaved === 0) this.unsavedSince = Date.now();
        this.unsaved += folded;
      }
      if (!this.due(final)) return undefined;
      const info = await this.o.bus.jsm.streams.info(streams.EVENTS.name);
      const started = performance.now();
      const meta = await this.o.store.save(fold, { name: info.config.name, created: info.created });
      this.unsaved = 0;
      this.unsavedSince = undefined;
      this.savedSeq = meta.seq;
      this.written += 1;
      logger.info(
        {
          seq: meta.seq,
          orders: meta.orders,
          fills: meta.fills,
          bytes: meta.bytes,
          chunks: meta.chunks,
          ms: Math.round(performance.now() - started),
        },
        "exchange snapshot written",
      );
      return meta;
    } catch (err) {
      logger.warn({ err }, "exchange snapshot not written; retrying at the next pass");
      return undefined;
    }
  }
}
