import { z } from "zod";
import { kvBuckets, strategyKeys } from "../../core/subjects.ts";
import type { Bus } from "./bus.ts";

/**
 * What the coordinator's /status shows of the strategy agent's instances, read straight from KV
 * (`bot4_strategies`): each instance's status and positions, and whether a position is unprotected
 * (its strategy is stopped or paused, so no stop loss or take profit guards it). Only the fields
 * needed are parsed, so the strategy agent's record can grow without breaking /status.
 */
const Stored = z.object({
  status: z.string(),
  books: z.record(z.string(), z.object({ pos: z.number() })).default({}),
});

export const StrategySummary = z.object({
  id: z.string(),
  status: z.string(),
  positions: z.array(z.object({ symbol: z.string(), amount: z.number() })),
  unprotected: z.boolean(),
});
export type StrategySummary = z.infer<typeof StrategySummary>;

export async function readStrategySummaries(bus: Bus): Promise<StrategySummary[]> {
  const kv = await bus.kv(kvBuckets.strategies);
  const out: StrategySummary[] = [];
  const keys = await kv.keys(strategyKeys.all);
  for await (const key of keys) {
    const entry = await kv.get(key);
    if (entry === null || entry.operation !== "PUT") continue;
    const parsed = Stored.safeParse(entry.json());
    if (!parsed.success) continue;
    const positions = Object.entries(parsed.data.books)
      .filter(([, b]) => Math.abs(b.pos) > 1e-12)
      .map(([symbol, b]) => ({ symbol, amount: b.pos }));
    out.push({
      id: key,
      status: parsed.data.status,
      positions,
      unprotected: parsed.data.status !== "running" && positions.length > 0,
    });
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}
