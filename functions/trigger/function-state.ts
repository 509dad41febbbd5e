import type { Bus } from "../../adapters/nats/bus.ts";
import type { AnyFunctionDefinition } from "../../core/functions/contract.ts";
import { FunctionStateStore, type LoadedState, type StoredState } from "../../core/functions/state-store.ts";

/** Largest number of applied sequences kept per consumer above its ack floor. */
const MAX_APPLIED = 20_000;
/** Largest number of sequences remembered in memory as committed by this instance, per consumer. */
const MAX_COMMITTED = 200_000;

/**
 * The trigger's view of one function's state: the cached KV entry, a lock that serialises its
 * batches (all consumers of one stateful function apply to one state), and the bookkeeping of
 * applied sequences that makes a redelivery after the state was saved a no-op.
 */
export class FunctionState {
  private cached: LoadedState | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly applied = new Map<string, Set<number>>();
  /**
   * Sequences this instance committed, kept in memory beyond the ack-floor pruning of the saved set:
   * a stale copy of a message can still sit in the local buffer (delivered again around a reconnect)
   * after the consumer's ack floor has passed it and the saved set has dropped it.
   */
  private readonly committed = new Map<string, Set<number>>();

  private constructor(
    readonly def: AnyFunctionDefinition,
    private readonly store: FunctionStateStore | undefined,
  ) {}

  static async open(bus: Bus, def: AnyFunctionDefinition): Promise<FunctionState> {
    const store = def.state === undefined ? undefined : await FunctionStateStore.open(bus, def.name);
    return new FunctionState(def, store);
  }

  get stateful(): boolean {
    return this.store !== undefined;
  }

  /** Runs `work` after every earlier batch of this function has settled. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** The state entry as last saved (read from KV once, then cached; re-read after {@link invalidate}). */
  async current(): Promise<LoadedState> {
    if (this.store === undefined) return { value: { applied: {} }, revision: 0 };
    if (this.cached === undefined) {
      this.cached = await this.store.load();
      this.applied.clear();
      for (const [consumer, seqs] of Object.entries(this.cached.value.applied)) {
        this.applied.set(consumer, new Set(seqs));
      }
    }
    return this.cached;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  /**
   * True when the message was applied to the saved state (its outputs were published before that),
   * or was committed by this instance.
   */
  isApplied(consumer: string, seq: number): boolean {
    return this.applied.get(consumer)?.has(seq) === true || this.committed.get(consumer)?.has(seq) === true;
  }

  /** Remembers sequences this instance has committed (bounded; the oldest are forgotten first). */
  markCommitted(consumer: string, seqs: readonly number[]): void {
    let set = this.committed.get(consumer);
    if (set === undefined) {
      set = new Set();
      this.committed.set(consumer, set);
    }
    for (const s of seqs) set.add(s);
    if (set.size > MAX_COMMITTED) {
      let excess = set.size - MAX_COMMITTED;
      for (const s of set) {
        if (excess-- <= 0) break;
        set.delete(s);
      }
    }
  }

  /**
   * Saves the handler's new state together with the sequences just applied, dropping those at or
   * below the consumer's ack floor (the server never redelivers them). Compare-and-set: throws
   * StateConflictError when another replica saved first.
   */
  async save(consumer: string, state: unknown, seqs: readonly number[], ackFloor: number): Promise<void> {
    if (this.store === undefined) return;
    const loaded = await this.current();
    const set = new Set<number>();
    for (const s of loaded.value.applied[consumer] ?? []) if (s > ackFloor) set.add(s);
    for (const s of seqs) set.add(s);
    let list = [...set].sort((a, b) => a - b);
    if (list.length > MAX_APPLIED) list = list.slice(list.length - MAX_APPLIED);
    const value: StoredState = {
      applied: { ...loaded.value.applied, [consumer]: list },
      ...(state !== undefined ? { state } : {}),
    };
    const revision = await this.store.save(value, loaded.revision);
    this.cached = { value, revision };
    this.applied.set(consumer, new Set(list));
  }
}
