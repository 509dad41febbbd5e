import type { KV } from "@nats-io/kv";
import type { Bus } from "../../adapters/nats/bus.ts";
import { kvBuckets, strategyKeys } from "../../core/subjects.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import { StrategyConfig } from "./config.ts";
import type { InstanceStore } from "./host.ts";
import { type StoredInstance, StrategyInstance } from "./instance.ts";

/**
 * Strategy instances in KV (`bot4_strategies`, one key per instance id), written with compare-and-set
 * on the entry's revision so two writers never overwrite each other silently. JSON throughout.
 */
export class KvInstanceStore implements InstanceStore {
  private constructor(
    private readonly kv: KV,
    private readonly logger: Logger,
  ) {}

  static async open(bus: Bus, logger: Logger): Promise<KvInstanceStore> {
    return new KvInstanceStore(await bus.kv(kvBuckets.strategies), logger);
  }

  async save(id: string, record: StoredInstance, revision: number): Promise<number> {
    const key = strategyKeys.of(id);
    const value = JSON.stringify(record);
    if (revision === 0) return this.kv.create(key, value);
    return this.kv.update(key, value, revision);
  }

  async remove(id: string): Promise<void> {
    await this.kv.delete(strategyKeys.of(id));
  }

  /** Every stored instance, with its revision; records that no longer parse are skipped and logged. */
  async load(): Promise<StrategyInstance[]> {
    const out: StrategyInstance[] = [];
    const keys = await this.kv.keys(strategyKeys.all);
    for await (const key of keys) {
      const entry = await this.kv.get(key);
      if (entry === null || entry.operation !== "PUT") continue;
      try {
        const raw = entry.json<StoredInstance>();
        const config = StrategyConfig.parse(raw.config);
        const inst = new StrategyInstance({ ...raw, config });
        inst.revision = entry.revision;
        out.push(inst);
      } catch (err) {
        this.logger.error({ err, key }, "stored strategy does not parse; skipped");
      }
    }
    return out;
  }
}
