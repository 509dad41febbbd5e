import { cpus, totalmem } from "node:os";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as hdr from "hdr-histogram-js";

/**
 * The benchmark harness: latency percentiles from an HDR histogram (hdr-histogram-js, microsecond
 * resolution, 3 significant digits) and throughput from wall time. A case file in bench/cases/
 * default-exports a BenchCase; `npm run bench` runs them all (or those named on the command line).
 */
export interface LatencyStats {
  count: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
  mean_us: number;
}

export interface BenchResult {
  case: string;
  /** What one operation is ("request/reply round trip", "event", "row"). */
  unit: string;
  latency?: LatencyStats;
  /** Operations per second. */
  throughput?: number;
  /** Anything else worth recording: ratios against the floor, batch sizes, targets. */
  notes?: Record<string, number | string>;
}

export interface BenchContext {
  /** URL of a private nats-server the runner started for this run. */
  natsUrl: string;
  /** Scales iteration counts (BENCH_SCALE, default 1): lower it for a quick look. */
  scale: number;
  log: (line: string) => void;
}

export interface BenchCase {
  name: string;
  /** Cases run in ascending order; the floor runs first. */
  order?: number;
  run(ctx: BenchContext): Promise<BenchResult[]>;
}

/**
 * V8's full garbage collection, for heap figures that hold only what is still referenced. Node hides
 * `gc` unless started with --expose-gc; setting the flag at run time and reading `gc` from a new
 * context gives the same function without asking every bench run for a flag.
 */
export function collectGarbage(): void {
  let gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
}

export function machineInfo() {
  const cpu = cpus();
  return {
    cpu_model: cpu[0]?.model ?? "unknown",
    cores: cpu.length,
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** Records durations in microseconds (fractional values are kept to 1/1000 µs by scaling). */
export class Recorder {
  private readonly h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000_000,
    numberOfSignificantValueDigits: 3,
  });
  private sum = 0;

  /** Records a duration in nanoseconds. */
  recordNs(ns: number): void {
    const v = Math.max(1, Math.round(ns));
    this.h.recordValue(v);
    this.sum += v;
  }

  /** Measures `fn` once and records it. */
  async time<T>(fn: () => Promise<T> | T): Promise<T> {
    const start = process.hrtime.bigint();
    const out = await fn();
    this.recordNs(Number(process.hrtime.bigint() - start));
    return out;
  }

  stats(): LatencyStats {
    const us = (ns: number) => Math.round(ns / 10) / 100;
    return {
      count: this.h.totalCount,
      p50_us: us(this.h.getValueAtPercentile(50)),
      p90_us: us(this.h.getValueAtPercentile(90)),
      p99_us: us(this.h.getValueAtPercentile(99)),
      max_us: us(this.h.maxValue),
      mean_us: us(this.h.totalCount === 0 ? 0 : this.sum / this.h.totalCount),
    };
  }
}

/** Runs `op` sequentially `iterations` times after `warmup` runs; returns latency and throughput. */
export async function measureSequential(
  op: () => Promise<unknown> | unknown,
  iterations: number,
  warmup = Math.min(1000, Math.ceil(iterations / 10)),
): Promise<{ latency: LatencyStats; throughput: number }> {
  for (let i = 0; i < warmup; i++) await op();
  const rec = new Recorder();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await rec.time(op);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { latency: rec.stats(), throughput: Math.round(iterations / seconds) };
}

/**
 * Measures several operations interleaved — a, b, c, a, b, c, … — so a noisy machine slows them
 * alike and their ratios stay meaningful. Returns one latency/throughput pair per operation.
 */
export async function measureInterleaved(
  ops: readonly (() => Promise<unknown> | unknown)[],
  iterations: number,
  warmup = Math.min(1000, Math.ceil(iterations / 10)),
): Promise<{ latency: LatencyStats; throughput: number }[]> {
  for (let i = 0; i < warmup; i++) for (const op of ops) await op();
  const recs = ops.map(() => new Recorder());
  const totals = ops.map(() => 0);
  for (let i = 0; i < iterations; i++) {
    for (let k = 0; k < ops.length; k++) {
      const start = process.hrtime.bigint();
      await ops[k]!();
      const ns = Number(process.hrtime.bigint() - start);
      recs[k]!.recordNs(ns);
      totals[k]! += ns;
    }
  }
  return recs.map((r, k) => ({
    latency: r.stats(),
    throughput: Math.round(iterations / (totals[k]! / 1e9)),
  }));
}
