import { describe, expect, it } from "vitest";
import { Counter, Histogram, LATENCY_BUCKETS, createMetricsRegistry } from "./metrics.ts";
import { counterTally, LatencyHistogram } from "./tally.ts";

const config = { name: "t_seconds", help: "latency", buckets: LATENCY_BUCKETS };
// On a bound, between bounds, below the first and above the last (counted in +Inf only).
const observed = [0.00005, 0.0003, 0.00001, 12, 0.0003, 1];

describe("the tallied metrics", () => {
  it("export exactly what prom-client's Histogram and Counter export for the same calls", async () => {
    const theirs = createMetricsRegistry("risk", false);
    const ours = createMetricsRegistry("risk", false);
    const counter = new Counter({
      name: "t_total",
      help: "calls",
      labelNames: ["tool"],
      registers: [theirs],
    });
    const histogram = new Histogram({ ...config, labelNames: ["tool", "transport"], registers: [theirs] });
    const tally = counterTally();
    new Counter({
      name: "t_total",
      help: "calls",
      labelNames: ["tool"],
      registers: [ours],
      collect: tally.collect,
    });
    const latency = new LatencyHistogram({ ...config, registers: [ours] });
    const kelly = latency.bind({ tool: "kelly", transport: "rpc" });
    latency.bind({ tool: "unused", transport: "rpc" });
    const incKelly = tally.bind({ tool: "kelly" });
    const incOther = tally.bind({ tool: "other" });
    for (const v of observed) {
      histogram.observe({ tool: "kelly", transport: "rpc" }, v);
      kelly(v);
      counter.inc({ tool: "kelly" });
      incKelly();
    }
    counter.inc({ tool: "other" });
    incOther();
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // The JSON alike too, but for prom-client's empty exemplars (we keep none).
    const json = async (r: typeof ours) =>
      (await r.getMetricsAsJSON()).map((m) => ({
        ...m,
        values: m.values.map(
          ({ labels, value, metricName }: { labels: unknown; value: number; metricName?: string }) => ({
            labels,
            value,
            metricName,
          }),
        ),
      }));
    expect(await json(ours)).toEqual(await json(theirs));
    // Read twice: what was added once is not added again.
    counter.inc({ tool: "kelly" });
    incKelly();
    expect(await ours.metrics()).toBe(await theirs.metrics());
    histogram.reset();
    latency.reset();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});
