/**
 * The trigger's window of output publishes awaiting their JetStream acks. A batch's publishes are
 * started at once and the trigger moves on to the next batch while they are in flight; each batch is
 * settled (its inputs acked, or handed back if a publish failed) once all its publishes are acked and
 * every earlier batch has been settled, so inputs are acked in the order they were taken. When more
 * than `limit` publishes are in flight, {@link add} waits for the oldest batches to settle.
 */
export class PublishWindow {
  private inFlight = 0;
  private pending = 0;
  private tail: Promise<void> = Promise.resolve();
  private room: (() => void) | undefined;

  constructor(private readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError(`publish window must be at least 1, got ${limit}`);
  }

  /**
   * Adds a batch of `count` publishes, `published` settling when all of them are acked (or one failed).
   * `settle` runs after that and after every earlier batch's settle, with the failure if there was one;
   * it reports its own errors (one that escapes is dropped, so that later batches still settle).
   * Resolves when fewer than `limit` publishes are in flight.
   */
  async add(
    count: number,
    published: Promise<unknown>,
    settle: (err?: unknown) => Promise<void>,
  ): Promise<void> {
    this.inFlight += count;
    this.pending++;
    const outcome = published.then(
      () => undefined,
      (err: unknown) => err ?? new Error("publish failed"),
    );
    const previous = this.tail;
    this.tail = (async () => {
      const err = await outcome;
      await previous;
      try {
        await settle(err);
      } finally {
        this.inFlight -= count;
        this.pending--;
        const room = this.room;
        this.room = undefined;
        room?.();
      }
    })().catch(() => undefined);
    while (this.inFlight >= this.limit) await new Promise<void>((r) => (this.room = r));
  }

  /** No batch is waiting to be settled. */
  get idle(): boolean {
    return this.pending === 0;
  }

  /** Resolves when every batch added so far has been settled. */
  drain(): Promise<void> {
    return this.tail;
  }
}
