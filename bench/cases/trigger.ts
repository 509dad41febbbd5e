import { z } from "zod";
import { Bus } from "../../core/bus/bus.ts";
import { ensureTopology } from "../../core/bus/topology.ts";
import { loadConfig } from "../../core/config.ts";
import { defineFunction } from "../../core/functions/contract.ts";
import { EventEnvelope, makeEvent } from "../../core/protocol/envelope.ts";
import { streams, subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { Registry } from "../../core/telemetry/metrics.ts";
import { inProcessInvoker } from "../../functions/trigger/inprocess.ts";
import { triggerMetrics } from "../../functions/trigger/metrics.ts";
import { startTrigger } from "../../functions/trigger/trigger.ts";
import { type BenchCase, type BenchResult, Recorder } from "../harness.ts";

const Input = EventEnvelope.extend({ data: z.object({ n: z.number().int(), t: z.number() }) });

/**
 * Events through the trigger with a trivial in-process function (one durable pull consumer on the
 * COMMANDS stream, batches of 256): throughput on a preloaded backlog, with no outputs and with one
 * output event per input; then event-to-ack latency under a steady open-loop publish rate.
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
      const start = performance.now();
      const trigger = await startTrigger(
        def,
        { bus, config, logger },
        {
          invoker: inProcessInvoker({ config, logger }),
          metrics: triggerMetrics(new Registry()),
          onAck,
          batchSize: 256,
        },
      );
      await waitFor(count);
      const seconds = (performance.now() - start) / 1000;
      await trigger.stop();
      results.push({
        case: `trigger throughput, ${label}`,
        unit: "event",
        throughput: Math.round(count / seconds),
        notes: { events: count, batch: 256, target_events_per_s: 20_000 },
      });
    };
    try {
      await run(Math.max(5_000, Math.round(60_000 * scale)), "no outputs");
      emit = true;
      await run(Math.max(2_000, Math.round(20_000 * scale)), "1 output event per input");
      emit = false;

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
          batchSize: 256,
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
        notes: { events: total, max_wait_ms: config.TRIGGER_MAX_WAIT_MS, batch: 256 },
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

export default triggerCase;
