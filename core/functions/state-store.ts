import { z } from "zod";
import type { Bus, KvBucket } from "../ports/bus.ts";
import { functionStateKey, kvBuckets } from "../subjects.ts";

/**
 * A function's state in the `bot4_function_state` KV bucket: the handler's own state, and per
 * consumer the stream sequences applied to it that the server may still redeliver (above the
 * consumer's ack floor). Writes are compare-and-set on the entry's revision, so two trigger replicas
 * can never both apply a batch on the same state.
 */
export const StoredState = z.object({
  state: z.unknown().optional(),
  applied: z.record(z.string(), z.array(z.number().int().positive())).default({}),
});
export type StoredState = z.infer<typeof StoredState>;

/** The entry changed since it was read: somebody else applied a batch. */
export class StateConflictError extends Error {
  override name = "StateConflictError";
}

export interface LoadedState {
  value: StoredState;
  /** 0 when there is no entry yet. */
  revision: number;
}

export class FunctionStateStore {
  private constructor(
    private readonly kv: KvBucket,
    private readonly key: string,
  ) {}

  static async open(bus: Bus, fn: string): Promise<FunctionStateStore> {
    return new FunctionStateStore(await bus.kv(kvBuckets.functionState), functionStateKey(fn));
  }

  async load(): Promise<LoadedState> {
    const entry = await this.kv.get(this.key);
    if (entry === null || entry.operation !== "PUT" || entry.length === 0) {
      return { value: { applied: {} }, revision: entry?.revision ?? 0 };
    }
    return { value: StoredState.parse(entry.json()), revision: entry.revision };
  }

  /** Writes `value` if the entry is still at `revision`; returns the new revision. */
  async save(value: StoredState, revision: number): Promise<number> {
    const data = JSON.stringify(value);
    try {
      return revision === 0
        ? await this.kv.create(this.key, data)
        : await this.kv.update(this.key, data, revision);
    } catch (err) {
      if (err instanceof Error && /wrong last sequence|key exists/i.test(err.message)) {
        throw new StateConflictError(`state of ${this.key} changed since revision ${revision}`, {
          cause: err,
        });
      }
      throw err;
    }
  }
}
