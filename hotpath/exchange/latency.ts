/** The last `size` request latencies (ms) and their p50/p99, for get_exchange_status. */
export class LatencyWindow {
  private readonly values: number[] = [];
  private next = 0;
  private last: number | undefined;

  constructor(private readonly size: number) {}

  record(ms: number): void {
    this.last = ms;
    if (this.values.length < this.size) this.values.push(ms);
    else this.values[this.next] = ms;
    this.next = (this.next + 1) % this.size;
  }

  summary(): { last?: number; p50?: number; p99?: number; samples: number } {
    if (this.values.length === 0) return { samples: 0 };
    const sorted = [...this.values].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    const round = (x: number) => Math.round(x * 1000) / 1000;
    return {
      ...(this.last !== undefined ? { last: round(this.last) } : {}),
      p50: round(at(0.5)),
      p99: round(at(0.99)),
      samples: this.values.length,
    };
  }
}
