import type { Bus } from "../../adapters/nats/bus.ts";
import type { Config } from "../../core/config.ts";
import { limitsFromConfig, RiskLimits, type RiskPosition, RiskSnapshot } from "../../core/risk/snapshot.ts";
import { kvBuckets, riskKeys } from "../../core/subjects.ts";
import type { Logger } from "../../core/telemetry/log.ts";

/**
 * The risk snapshot the in-process pre-trade check reads. The risk service writes one snapshot per
 * account (`riskKeys.snapshot(account)`) and the limits in force (`riskKeys.limits`) to the
 * `kvBuckets.risk` bucket; this source watches the bucket and keeps the latest of each in memory, so a
 * check costs no I/O.
 *
 * With no snapshot for the account it builds a local one (`source: "local"`): equity and positions
 * from the exchange's own view (balances and fills, marked at the latest prices), limits from KV if
 * the risk service published any, else from the environment (MAX_POSITION_SIZE, MAX_LEVERAGE, …).
 * The local snapshot is rebuilt only after `invalidate()` (a fill, new balances), because the check
 * caches its aggregates per snapshot object.
 */
export interface LocalAccountView {
  equity: number;
  positions: Record<string, RiskPosition>;
  marks: Record<string, number>;
}

/** `snapshot.` — the key prefix of per-account snapshots, derived from core/subjects.ts. */
const SNAPSHOT_PREFIX = riskKeys.snapshot("x").slice(0, -1);

export type SnapshotSource = "kv" | "local";

export class RiskSource {
  private readonly fromKv = new Map<string, RiskSnapshot>();
  private kvLimits: RiskLimits | undefined;
  private readonly local = new Map<string, RiskSnapshot>();
  private readonly configLimits: RiskLimits;
  private stopWatch: (() => void) | undefined;
  watching = false;
  private stopped = false;

  constructor(
    config: Pick<Config, "MAX_POSITION_SIZE" | "MAX_PORTFOLIO_RISK" | "MAX_CORRELATION" | "MAX_LEVERAGE">,
    private readonly view: (account: string) => LocalAccountView,
    private readonly logger: Logger,
  ) {
    this.configLimits = limitsFromConfig(config);
  }

  /** The snapshot to check an order of `account` against, and where it came from. */
  snapshot(account: string): { snapshot: RiskSnapshot; source: SnapshotSource } {
    const kv = this.fromKv.get(account);
    if (kv !== undefined) return { snapshot: kv, source: "kv" };
    let local = this.local.get(account);
    if (local === undefined) {
      const v = this.view(account);
      local = {
        account,
        equity: v.equity,
        peakEquity: v.equity,
        positions: v.positions,
        marks: v.marks,
        volatility: {},
        symbols: [],
        correlation: [],
        limits: this.kvLimits ?? this.configLimits,
        updatedAt: Date.now(),
      };
      this.local.set(account, local);
    }
    return { snapshot: local, source: "local" };
  }

  /** Forgets the local snapshots (after fills, balance changes, new marks). */
  invalidate(): void {
    this.local.clear();
  }

  /** Applies one KV entry (exposed for the watcher and for tests). */
  applyEntry(key: string, operation: string, value: unknown): void {
    if (key === riskKeys.limits) {
      if (operation !== "PUT") {
        this.kvLimits = undefined;
      } else {
        const parsed = RiskLimits.safeParse(value);
        if (parsed.success) this.kvLimits = parsed.data;
        else this.logger.warn({ issues: parsed.error.issues }, "ignoring malformed risk limits in KV");
      }
      this.invalidate();
      return;
    }
    if (!key.startsWith(SNAPSHOT_PREFIX)) return;
    const account = key.slice(SNAPSHOT_PREFIX.length);
    if (operation !== "PUT") {
      this.fromKv.delete(account);
      return;
    }
    const parsed = RiskSnapshot.safeParse(value);
    if (parsed.success) this.fromKv.set(parsed.data.account, parsed.data);
    else this.logger.warn({ key, issues: parsed.error.issues }, "ignoring malformed risk snapshot in KV");
  }

  /**
   * Watches the risk bucket until `stop()`; after a reconnect of the bus (a restarted nats-server
   * loses the watch's consumer) the watch is opened again. Resolves once the watch is open (or failed).
   */
  async watch(bus: Bus): Promise<void> {
    await this.openWatch(bus);
    void (async () => {
      for await (const s of bus.nc.status()) {
        if (s.type !== "reconnect" || this.stopped) continue;
        for (let attempt = 0; attempt < 40 && !this.stopped; attempt++) {
          this.stopWatch?.();
          if (await this.openWatch(bus)) break;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    })().catch(() => undefined);
  }

  private async openWatch(bus: Bus): Promise<boolean> {
    try {
      const kv = await bus.kv(kvBuckets.risk);
      const iter = await kv.watch({ key: ">" });
      this.watching = true;
      this.stopWatch = () => iter.stop();
      void (async () => {
        for await (const e of iter) {
          let value: unknown;
          try {
            value = e.operation === "PUT" ? e.json() : undefined;
          } catch {
            this.logger.warn({ key: e.key }, "ignoring non-JSON risk entry");
            continue;
          }
          this.applyEntry(e.key, e.operation, value);
        }
        this.watching = false;
      })();
      return true;
    } catch (err) {
      this.logger.warn(
        { err },
        "risk bucket unavailable; pre-trade checks use local snapshots and config limits",
      );
      return false;
    }
  }

  stop(): void {
    this.stopped = true;
    this.stopWatch?.();
  }
}
