import { loadavg } from "node:os";
import { z } from "zod";
import { Bus } from "../../adapters/nats/bus.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { loadConfig } from "../../core/config.ts";
import { defineFunction } from "../../core/functions/contract.ts";
import { EventEnvelope, makeEvent } from "../../core/protocol/envelope.ts";
import { PULL_EXPIRES_MS } from "../../functions/trigger/trigger.ts";
import { streams, subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { Registry } from "../../core/telemetry/metrics.ts";
import { inProcessInvoker } from "../../functions/trigger/inprocess.ts";
import { triggerMetrics } from "../../functions/trigger/metrics.ts";
import { startTrigger } from "../../functions/trigger/trigger.ts";
import { type BenchCase, type BenchResult, Recorder } from "../harness.ts";

const Input = EventEnvelope.extend({ data: z.object({ n: z.number().int(), t: z.number() }) });

const BATCH = 256;

/**
 * Events through the trigger with a trivial in-process function (one durable pull consumer on the
 * COMMANDS stream, batches of 256): throughput on a preloaded backlog, with no outputs and with one
 * output event per input; then event-to-ack latency under a steady open-loop publish rate.
 *
 * The floor, measured in the same run on the same connection: raw JetStream publish throughput of
 * events shaped like the trigger's outputs, pipelined as the trigger publishes them (`publishEvents`,
 * one batch of 256 at a time), and, for comparison, `js.publish` awaiting each message's ack (256 in
 * flight). Each throughput also notes the bench process's CPU µs per event and the 1-minute load.
 */
const triggerCase: BenchCase = {
  name: "trigger",
  order: 30,
  async run({ natsUrl, scale, log }) {
    const logger = quietLogger("bench-trigger");
    const config = loadConfig({ LOG_LEVEL: "silent" });
    const bus = await Bus.connect({ url: natsUrl, name: "bench-trigger", logger });
    // The publisher has its own connection, as a producer in another process would.
    const producer = await Bus.connect({ url: natsUrl, name: "bench-producer", logger });
    await ensureTopology(bus);
    const results: BenchResult[] = [];
    const publishTimes = new Map<number, number>();
    const rec = new Recorder();
    let emit = false;
    const def = defineFunction({
      name: "quality",
      input: Input,
      tools: () => [],
      handle(batch) {
        for (const m of batch) publishTimes.set(m.seq, m.event.data.t);
        if (!emit) return {};
        return {
          events: batch.map((m) => ({
            cause: m.seq,
            subject: subjects.events.of("quality", "bench"),
            type: "quality.bench",
            data: { n: m.event.data.n },
          })),
        };
      },
    });
    const subject = subjects.commands.of("quality", "run");
    const publish = (n: number) =>
      producer.publishEvent(
        makeEvent({ type: "bench.command", source: "bench", subject, data: { n, t: performance.now() } }),
      );
    const preload = async (count: number) => {
      for (let i = 0; i < count; i += 500) {
        const chunk: Promise<unknown>[] = [];
        for (let j = i; j < Math.min(count, i + 500); j++) chunk.push(publish(j));
        await Promise.all(chunk);
      }
    };
    let acked = 0;
    let recording = false;
    const onAck = (seqs: readonly number[]) => {
      acked += seqs.length;
      if (!recording) return;
      const now = performance.now();
      for (const s of seqs) {
        const t = publishTimes.get(s);
        if (t !== undefined) rec.recordNs((now - t) * 1e6);
        publishTimes.delete(s);
      }
    };
    const waitFor = async (target: number) => {
      while (acked < target) await new Promise((r) => setTimeout(r, 2));
    };
    const run = async (count: number, label: string) => {
      log(`preloading ${count} events for "${label}"`);
      await preload(count);
      acked = 0;
      publishTimes.clear();
      const cpu = process.cpuUsage();
      const start = performance.now();
      const trigger = await startTrigger(
        def,
        { bus, config, logger },
        {
          invoker: inProcessInvoker({ config, logger }),
          metrics: triggerMetrics(new Registry()),
          onAck,
          batchSize: BATCH,
        },
      );
      await waitFor(count);
      const seconds = (performance.now() - start) / 1000;
      const cpuUs = cpuPerEvent(process.cpuUsage(cpu), count);
      await trigger.stop();
      // The stopped consumer's last pull request lives on in the server until it expires; events
      // published before then would be handed to it and wait out the ack wait (30 s).
      await new Promise((r) => setTimeout(r, PULL_EXPIRES_MS + 250));
      return { rate: Math.round(count / seconds), cpuUs, count };
    };
    try {
      const floor = await publishFloors(bus, Math.max(2_048, Math.round(20_480 * scale)));
      results.push(...floor.results);
      const none = await run(Math.max(5_000, Math.round(60_000 * scale)), "no outputs");
      results.push({
        case: "trigger throughput, no outputs",
        unit: "event",
        throughput: none.rate,
        notes: { events: none.count, batch: BATCH, cpu_us_per_event: none.cpuUs, load1: load1() },
      });
      emit = true;
      const one = await run(Math.max(2_000, Math.round(20_000 * scale)), "1 output event per input");
      emit = false;
      results.push({
        case: "trigger throughput, 1 output event per input",
        unit: "event",
        throughput: one.rate,
        notes: {
          events: one.count,
          batch: BATCH,
          cpu_us_per_event: one.cpuUs,
          vs_no_outputs: one.rate / none.rate,
          vs_publish_floor: one.rate / floor.pipelined,
          target_events_per_s: 25_000,
          load1: load1(),
        },
      });

      // Latency: publish at a steady rate (bursts every 5 ms), measure publish → ack.
      const rate = 2_000;
      const seconds = Math.max(1, Math.round(5 * scale));
      const total = rate * seconds;
      acked = 0;
      publishTimes.clear();
      const trigger = await startTrigger(
        def,
        { bus, config, logger },
        {
          invoker: inProcessInvoker({ config, logger }),
          metrics: triggerMetrics(new Registry()),
          onAck,
          batchSize: BATCH,
        },
      );
      recording = true;
      const perTick = Math.round(rate / 200);
      let sent = 0;
      const started = performance.now();
      const inflight: Promise<unknown>[] = [];
      while (sent < total) {
        const due = Math.min(total, Math.round(((performance.now() - started) / 1000) * rate) + perTick);
        while (sent < due) inflight.push(publish(sent++));
        await new Promise((r) => setTimeout(r, 5));
      }
      await Promise.all(inflight);
      await waitFor(total);
      recording = false;
      await trigger.stop();
      results.push({
        case: `trigger event→ack latency at ${rate} events/s`,
        unit: "event",
        latency: rec.stats(),
        notes: { events: total, max_wait_ms: config.TRIGGER_MAX_WAIT_MS, batch: BATCH, load1: load1() },
      });
      const info = await bus.jsm.streams.info(streams.COMMANDS.name);
      log(
        `COMMANDS stream left with ${info.state.messages} messages (work queue: acked messages are removed)`,
      );
    } finally {
      await producer.drain();
      await bus.drain();
    }
    return results;
  },
};

/** Events shaped like the trigger's outputs in the bench (type, subject, data, a cause). */
const outputLike = (n: number) =>
  makeEvent(
    {
      id: `quality.bench:floor:${n}`,
      type: "quality.bench",
      source: "quality",
      subject: subjects.events.of("quality", "bench"),
      data: { n },
    },
    makeEvent({ type: "bench.command", source: "bench", subject: "cmd.quality.run", data: {} }),
  );

/** The numbers BATCH numbers from `from`. */
const range = (from: number) => Array.from({ length: BATCH }, (_, i) => from + i);

/** Wall time and CPU spent in `publishBatch`, summed over calls. */
class Spent {
  private ms = 0;
  private cpuMicros = 0;
  private events = 0;
  async time(events: number, publishBatch: () => Promise<unknown>): Promise<void> {
    const cpu = process.cpuUsage();
    const start = performance.now();
    await publishBatch();
    this.ms += performance.now() - start;
    const used = process.cpuUsage(cpu);
    this.cpuMicros += used.user + used.system;
    this.events += events;
  }
  get rate(): number {
    return Math.round(this.events / (this.ms / 1000));
  }
  get cpuUs(): number {
    return Math.round((this.cpuMicros / this.events) * 10) / 10;
  }
}

/**
 * The raw JetStream publish floors on the trigger's connection, a batch of BATCH at a time and
 * interleaved batch by batch (after one warm-up batch each), so machine noise hits both alike.
 */
async function publishFloors(
  bus: Bus,
  count: number,
): Promise<{ pipelined: number; results: BenchResult[] }> {
  const pipelined = new Spent();
  const perMessage = new Spent();
  let id = 0;
  const batch = () => range(id).map(outputLike);
  for (let done = -BATCH; done < count; done += BATCH) {
    const warm = done < 0;
    const a = batch();
    id += BATCH;
    const b = batch();
    id += BATCH;
    if (warm) {
      await bus.publishEvents(a);
      await Promise.all(b.map((e) => bus.publishEvent(e)));
      continue;
    }
    await pipelined.time(BATCH, () => bus.publishEvents(a));
    await perMessage.time(BATCH, () => Promise.all(b.map((e) => bus.publishEvent(e))));
  }
  return {
    pipelined: pipelined.rate,
    results: [
      {
        case: "JetStream publish floor, pipelined",
        unit: "event",
        throughput: pipelined.rate,
        notes: {
          events: count,
          batch: BATCH,
          cpu_us_per_event: pipelined.cpuUs,
          load1: load1(),
        },
      },
      {
        case: "JetStream publish, js.publish per message",
        unit: "event",
        throughput: perMessage.rate,
        notes: {
          events: count,
          in_flight: BATCH,
          cpu_us_per_event: perMessage.cpuUs,
          vs_pipelined: perMessage.rate / pipelined.rate,
          load1: load1(),
        },
      },
    ],
  };
}

const cpuPerEvent = (used: NodeJS.CpuUsage, count: number) =>
  Math.round(((used.user + used.system) / count) * 10) / 10;
const load1 = () => Math.round((loadavg()[0] ?? 0) * 100) / 100;

export default triggerCase;
