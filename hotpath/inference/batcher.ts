/**
 * Micro-batching: rows submitted while the model is busy are coalesced into one run of at most
 * `maxBatch` rows. With `windowMs` 0 (the default) a request that finds the model idle runs at once,
 * so a lone call pays no waiting and stays near the raw `session.run` floor; under load, rows pile up
 * while a run is in flight and leave together in the next one. With `windowMs` > 0 the first row of
 * an idle model waits that long for company (throughput over latency).
 */
export type RunBatch = (input: Float32Array, rows: number) => Promise<Float32Array>;

interface Pending {
  row: ArrayLike<number>;
  resolve: (p: number) => void;
  reject: (err: unknown) => void;
}

export interface BatcherStats {
  runs: number;
  rows: number;
  largestBatch: number;
}

export class MicroBatcher {
  private queue: Pending[] = [];
  private scheduled = false;
  private running = false;
  private idleWaiters: (() => void)[] = [];
  readonly stats: BatcherStats = { runs: 0, rows: 0, largestBatch: 0 };

  constructor(
    private readonly run: RunBatch,
    readonly width: number,
    readonly maxBatch: number,
    readonly windowMs = 0,
    private readonly onBatch?: (rows: number, seconds: number) => void,
  ) {
    if (!Number.isInteger(maxBatch) || maxBatch < 1)
      throw new RangeError("maxBatch must be a positive integer");
  }

  /** Queues one row (already checked by the caller) and resolves with its output. */
  submit(row: ArrayLike<number>): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      this.kick();
    });
  }

  /** Rows waiting for a run. */
  get pending(): number {
    return this.queue.length;
  }

  /** Resolves when nothing is queued or running (for a clean release of the model). */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private kick(): void {
    if (this.running) return;
    if (this.windowMs === 0 || this.queue.length >= this.maxBatch) {
      void this.flush();
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => {
      this.scheduled = false;
      if (!this.running) void this.flush();
    }, this.windowMs);
  }

  private async flush(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const n = batch.length;
      const input = new Float32Array(n * this.width);
      for (let i = 0; i < n; i++) {
        const row = (batch[i] as Pending).row;
        for (let j = 0; j < this.width; j++) input[i * this.width + j] = row[j] as number;
      }
      const started = performance.now();
      try {
        const out = await this.run(input, n);
        for (let i = 0; i < n; i++) (batch[i] as Pending).resolve(out[i] as number);
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
      this.stats.runs++;
      this.stats.rows += n;
      if (n > this.stats.largestBatch) this.stats.largestBatch = n;
      this.onBatch?.(n, (performance.now() - started) / 1000);
    }
    this.running = false;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
