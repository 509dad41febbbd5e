import type { Counter, Histogram, Registry } from "prom-client";

type Labels = Record<string, string>;

/** One label set's observations: a count per bucket (not cumulative), their sum and their count. */
interface LatencyTally {
  readonly labels: Labels;
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/** One value of a metric as prom-client's registry formats it (`sharedLabels` after `labels`). */
interface ExportedValue {
  metricName: string;
  labels: Record<string, string | number>;
  sharedLabels?: Labels;
  value: number;
}

export interface LatencyHistogramConfig {
  name: string;
  help: string;
  /** Upper bounds in seconds, ascending; `+Inf` is added. */
  buckets: readonly number[];
  registers: Registry[];
}

/**
 * A Prometheus histogram whose observations go to a tally bound once per label set
 * ({@link LatencyHistogram.bind}): one observation is a bucket search and three additions. prom-client's
 * own `observe` builds a label object, validates and hashes the labels on every call, even on a
 * bound child (~5 µs a tool call on the coordinator's path on a 2-core host, twice per `/rpc` call
 * counting the agent's). Exported through the registry exactly as a prom-client `Histogram` of the same
 * name, buckets and labels is (`_bucket` with `le` cumulative, `+Inf`, `_sum`, `_count`).
 */
export class LatencyHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly #bounds: readonly number[];
  readonly #tallies: LatencyTally[] = [];

  constructor(config: LatencyHistogramConfig) {
    this.name = config.name;
    this.help = config.help;
    this.#bounds = config.buckets;
    // The registry takes any metric with a name and `get`; its type names prom-client's classes only.
    for (const registry of config.registers) registry.registerMetric(this as unknown as Histogram);
  }

  /** The observer of one label set (kept for the process's life: bind each label set once). */
  bind(labels: Labels): (seconds: number) => void {
    const tally: LatencyTally = { labels, buckets: new Float64Array(this.#bounds.length), sum: 0, count: 0 };
    this.#tallies.push(tally);
    const bounds = this.#bounds;
    return (seconds) => {
      let i = 0;
      while (i < bounds.length && seconds > (bounds[i] as number)) i++;
      // Above the last bound: counted in `+Inf` (the count) only, as prom-client does.
      if (i < bounds.length) tally.buckets[i] = (tally.buckets[i] as number) + 1;
      tally.sum += seconds;
      tally.count += 1;
    };
  }

  /** The values as prom-client's registry formats them into the exposition text. */
  async getForPromString() {
    const values: ExportedValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const t of this.#tallies) {
      // A label set is exported from its first observation on, as prom-client's are.
      if (t.count === 0) continue;
      let acc = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        acc += t.buckets[i] as number;
        const le = this.#bounds[i] as number;
        values.push({ metricName: bucket, labels: { le }, sharedLabels: t.labels, value: acc });
      }
      values.push(
        { metricName: bucket, labels: { le: "+Inf" }, sharedLabels: t.labels, value: t.count },
        { metricName: `${this.name}_sum`, labels: {}, sharedLabels: t.labels, value: t.sum },
        { metricName: `${this.name}_count`, labels: {}, sharedLabels: t.labels, value: t.count },
      );
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** The values with their labels merged, as prom-client's `get` answers (the registry's JSON). */
  async get() {
    const data = await this.getForPromString();
    const values = data.values.map(({ sharedLabels, labels, ...rest }) => ({
      ...rest,
      labels: { ...labels, ...sharedLabels },
    }));
    return { ...data, values };
  }

  /** Forgets every observation (the bound observers keep counting from zero). */
  reset(): void {
    for (const t of this.#tallies) {
      t.buckets.fill(0);
      t.sum = 0;
      t.count = 0;
    }
  }
}

/**
 * Increments of a prom-client Counter gathered per label set in plain numbers and added to the
 * counter when it is read: `collect` the counter's `collect` option. An increment through prom-client
 * builds, validates and hashes the labels every call.
 */
export function counterTally(): {
  bind(labels: Labels): () => void;
  collect(this: Counter): void;
} {
  const pending: { labels: Labels; n: number }[] = [];
  return {
    bind(labels) {
      const entry = { labels, n: 0 };
      pending.push(entry);
      return () => {
        entry.n += 1;
      };
    },
    collect() {
      for (const entry of pending) {
        if (entry.n === 0) continue;
        this.inc(entry.labels, entry.n);
        entry.n = 0;
      }
    },
  };
}
