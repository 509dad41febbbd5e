import { headers as natsHeaders } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { FunctionName } from "../../core/agents/manifest.ts";
import type { Bus } from "../../adapters/nats/bus.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { defineFunction, type FunctionDefinition } from "../../core/functions/contract.ts";
import { DeadLetter } from "../../core/functions/dead-letter.ts";
import { FunctionStateStore } from "../../core/functions/state-store.ts";
import { EventEnvelope, makeEvent } from "../../core/protocol/envelope.ts";
import { headers, streams, subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { Registry } from "../../core/telemetry/metrics.ts";
import { eventually, privateNats, testBus } from "../../test/nats.ts";
import { backoffDelay } from "./backoff.ts";
import { inProcessInvoker } from "./inprocess.ts";
import { triggerMetrics } from "./metrics.ts";
import { readStream, testConfig } from "./testing.ts";
import { type CommitPhase, startTrigger, type TriggerOptions } from "./trigger.ts";

const config = testConfig();
const logger = quietLogger("trigger-test");

const Input = EventEnvelope.extend({ data: z.object({ n: z.number().int() }) });
type Input = z.infer<typeof Input>;
const Counter = z.object({ count: z.number().int(), sum: z.number().int() });
type Counter = z.infer<typeof Counter>;

/**
 * A test function on one of the manifest's command-driven functions: one output event per input
 * (`events.<name>.done`, data = {n}); `behave` decides per delivery whether to throw. Each delivery
 * of each input is recorded with the time the handler first saw it (a failed batch is retried
 * message by message within the same delivery, which is not a new delivery).
 */
function testFunction(
  name: FunctionName,
  behave: (n: number, deliveryCount: number) => void = () => undefined,
): { def: FunctionDefinition<Input, undefined>; attempts: Map<number, number[]> } {
  const deliveries = new Map<number, Map<number, number>>();
  const attempts = new Map<number, number[]>();
  const def = defineFunction<Input>({
    name,
    input: Input,
    tools: () => [],
    handle(batch) {
      for (const m of batch) {
        const n = m.event.data.n;
        const seen = deliveries.get(n) ?? new Map<number, number>();
        deliveries.set(n, seen);
        if (!seen.has(m.deliveryCount)) {
          seen.set(m.deliveryCount, Date.now());
          attempts.set(
            n,
            [...seen.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]),
          );
        }
        behave(n, m.deliveryCount);
      }
      return {
        events: batch.map((m) => ({
          cause: m.seq,
          subject: subjects.events.of(name, "done"),
          type: `${name}.done`,
          data: { n: m.event.data.n },
        })),
      };
    },
  });
  return { def, attempts };
}

/** The same, keeping a count and a sum of the inputs as state. */
function countingFunction(name: FunctionName, delayMs = 0) {
  const invocations = new Map<number, number>();
  const def = defineFunction<Input, Counter>({
    name,
    input: Input,
    state: { schema: Counter, initial: () => ({ count: 0, sum: 0 }) },
    tools: () => [],
    async handle(batch, ctx) {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      let { count, sum } = ctx.state;
      for (const m of batch) {
        invocations.set(m.event.data.n, (invocations.get(m.event.data.n) ?? 0) + 1);
        count += 1;
        sum += m.event.data.n;
      }
      return {
        state: { count, sum },
        events: batch.map((m) => ({
          cause: m.seq,
          subject: subjects.events.of(name, "done"),
          type: `${name}.done`,
          data: { n: m.event.data.n },
        })),
      };
    },
  });
  return { def, invocations };
}

async function fresh(): Promise<{ bus: Bus; nats: Awaited<ReturnType<typeof privateNats>> }> {
  const nats = await privateNats();
  const bus = await testBus(nats.url);
  await ensureTopology(bus);
  return { bus, nats };
}

function options(extra: Partial<TriggerOptions> = {}): TriggerOptions {
  return {
    invoker: inProcessInvoker({ config, logger }),
    metrics: triggerMetrics(new Registry()),
    batchSize: 16,
    maxWaitMs: 0,
    maxDeliveries: 3,
    backoffBaseMs: 150,
    backoffMaxMs: 2_000,
    ackWaitMs: 1_000,
    shutdownDeadlineMs: 2_000,
    ...extra,
  };
}

async function send(bus: Bus, name: string, from: number, to: number): Promise<void> {
  const pending: Promise<unknown>[] = [];
  for (let n = from; n < to; n++) {
    pending.push(
      bus.publishEvent(
        makeEvent({
          type: "test.command",
          source: "test",
          subject: subjects.commands.of(name, "run"),
          data: { n },
        }),
      ),
    );
  }
  await Promise.all(pending);
}

const outputsOf = (bus: Bus, name: string) =>
  readStream(bus, streams.EVENTS.name, subjects.events.of(name, "done"));
const deadLettersOf = (bus: Bus, name: string) => readStream(bus, streams.DLQ.name, subjects.dlq.of(name));

describe("trigger: batch size", () => {
  it("hands a function batches of its own batchSize, in place of TRIGGER_BATCH_SIZE", async () => {
    const { bus } = await fresh();
    await send(bus, "quality", 0, 40);
    const sizes: number[] = [];
    const { def } = testFunction("quality");
    const own = defineFunction<Input>({
      ...def,
      batchSize: 7,
      handle(batch, ctx) {
        sizes.push(batch.length);
        return def.handle(batch, ctx);
      },
    });
    const { batchSize: _default, ...rest } = options();
    const trigger = await startTrigger(own, { bus, config, logger }, rest);
    await eventually(async () => ((await outputsOf(bus, "quality")).length >= 40 ? true : undefined), 15_000);
    await trigger.stop();
    // 40 waiting messages: full batches of 7 (not the config's 256, nor the other tests' 16).
    expect(Math.max(...sizes)).toBe(7);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(40);
    expect(config.TRIGGER_BATCH_SIZE).toBeGreaterThan(7);
  });
});

describe("trigger: retries and dead letters", () => {
  it("processes a message whose handler throws twice exactly once, backing off between tries", async () => {
    const { bus } = await fresh();
    const { def, attempts } = testFunction("quality", (n, delivery) => {
      if (n === 7 && delivery <= 2) throw new Error(`transient failure ${delivery}`);
    });
    const opts = options();
    const trigger = await startTrigger(def, { bus, config, logger }, opts);
    await send(bus, "quality", 0, 10);
    const outputs = await eventually(async () => {
      const out = await outputsOf(bus, "quality");
      return out.length >= 10 ? out : undefined;
    }, 15_000);
    await trigger.stop();
    // Each input produced exactly one output, including the flaky one.
    expect(outputs.map((o) => (o.envelope.data as { n: number }).n).sort((a, b) => a - b)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    const tries = attempts.get(7) ?? [];
    expect(tries).toHaveLength(3);
    // The redeliveries waited at least the backoff for delivery 1 and 2 (nak delay, a lower bound).
    const base = opts.backoffBaseMs ?? 0;
    const max = opts.backoffMaxMs ?? 0;
    expect((tries[1] ?? 0) - (tries[0] ?? 0)).toBeGreaterThanOrEqual(backoffDelay(1, base, max) - 20);
    expect((tries[2] ?? 0) - (tries[1] ?? 0)).toBeGreaterThanOrEqual(backoffDelay(2, base, max) - 20);
    expect(await deadLettersOf(bus, "quality")).toHaveLength(0);
    // The healthy messages of the failed batch were retried one by one at once, not redelivered.
    for (const n of [0, 1, 2, 3, 4, 5, 6, 8, 9]) expect(attempts.get(n)).toHaveLength(1);
  });

  it("dead-letters a message that always fails after max deliveries, and a malformed one at once", async () => {
    const { bus } = await fresh();
    const { def, attempts } = testFunction("architect", (n) => {
      if (n === 3) throw new RangeError("n = 3 is not allowed");
    });
    const metrics = triggerMetrics(new Registry());
    const trigger = await startTrigger(def, { bus, config, logger }, options({ metrics }));
    await send(bus, "architect", 0, 5);
    // A message that is not an envelope of the function's input, with a header to be kept.
    const h = natsHeaders();
    h.set(headers.correlationId, "corr-bad");
    await bus.js.publish(
      subjects.commands.of("architect", "run"),
      '{"type":"test.command","data":{"n":"x"}}',
      {
        headers: h,
      },
    );
    const letters = await eventually(async () => {
      const dl = await deadLettersOf(bus, "architect");
      return dl.length >= 2 ? dl : undefined;
    }, 15_000);
    const outputs = await eventually(async () => {
      const out = await outputsOf(bus, "architect");
      return out.length >= 4 ? out : undefined;
    });
    await trigger.stop();
    const byReason = new Map(
      letters.map((l) => [DeadLetter.parse(l.envelope.data).reason, DeadLetter.parse(l.envelope.data)]),
    );
    const failed = byReason.get("max_deliveries");
    expect(failed).toBeDefined();
    const failedLetter = letters.find((l) => DeadLetter.parse(l.envelope.data).reason === "max_deliveries");
    expect(failedLetter?.envelope.id).toBe(`dlq.dead_letter:architect:COMMANDS:${failed?.seq}`);
    expect(failed?.deliveryCount).toBe(3);
    expect(failed?.error).toEqual({ name: "RangeError", message: "n = 3 is not allowed" });
    expect(failed?.subject).toBe(subjects.commands.of("architect", "run"));
    expect(JSON.parse(failed?.payload ?? "{}").data).toEqual({ n: 3 });
    expect(attempts.get(3)).toHaveLength(3);

    const malformed = byReason.get("schema");
    expect(malformed).toBeDefined();
    expect(malformed?.deliveryCount).toBe(1);
    expect(malformed?.error.message).toMatch(/input schema/);
    expect(malformed?.payload).toBe('{"type":"test.command","data":{"n":"x"}}');
    expect(malformed?.headers[headers.correlationId]).toEqual(["corr-bad"]);
    expect(outputs.map((o) => (o.envelope.data as { n: number }).n).sort()).toEqual([0, 1, 2, 4]);
    // Terminated, not redelivered: nothing is left pending on the consumer.
    const info = await bus.jsm.consumers.info(streams.COMMANDS.name, "fn_architect");
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
    const text = await metrics.messages.get();
    const outcome = (o: string) => text.values.find((v) => v.labels.outcome === o)?.value;
    expect(outcome("dead_lettered")).toBe(1);
    expect(outcome("schema_rejected")).toBe(1);
    expect(outcome("processed")).toBe(4);
    // Lag as of the last message: nothing left undelivered.
    const lag = (await metrics.pending.get()).values.find((v) => v.labels.consumer === "fn_architect");
    expect(lag?.value).toBe(0);
  });
});

describe("trigger: idempotence under redelivery", () => {
  it("republishes nothing new when a batch is redelivered after its outputs were published", async () => {
    const { bus } = await fresh();
    const { def, attempts } = testFunction("infra");
    let crashed = false;
    const probe = (phase: CommitPhase) => {
      if (phase === "published" && !crashed) {
        crashed = true;
        throw new Error("process killed between publish and ack");
      }
    };
    const first = await startTrigger(def, { bus, config, logger }, options({ probe, batchSize: 50 }));
    await send(bus, "infra", 0, 20);
    await eventually(() => crashed);
    await first.stop();
    const second = await startTrigger(def, { bus, config, logger }, options());
    await eventually(async () => {
      const info = await bus.jsm.consumers.info(streams.COMMANDS.name, "fn_infra");
      return info.num_ack_pending === 0 && info.num_pending === 0;
    }, 15_000);
    await second.stop();
    const outputs = await outputsOf(bus, "infra");
    const ns = outputs.map((o) => (o.envelope.data as { n: number }).n).sort((a, b) => a - b);
    expect(ns).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // The crashed batch was really run twice; its second outputs were dropped as duplicates.
    expect([...attempts.values()].some((a) => a.length === 2)).toBe(true);
    expect(new Set(outputs.map((o) => o.envelope.id)).size).toBe(20);
    // The ids are the catalogue's style, `<type>:<function>:<stream>:<cause seq>:<index>`, and the
    // message id the stream deduplicated on: one per input (the COMMANDS sequences 1…20).
    const causes = outputs.map((o) => {
      const m = /^infra\.done:infra:COMMANDS:(\d+):0$/.exec(o.envelope.id);
      expect(m, o.envelope.id).not.toBeNull();
      expect(o.headers["Nats-Msg-Id"]).toEqual([o.envelope.id]);
      return Number(m?.[1]);
    });
    expect(causes.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it("does not apply a batch twice to the state when it is redelivered after the state was saved", async () => {
    const { bus } = await fresh();
    const { def, invocations } = countingFunction("integration");
    let crashed = false;
    const probe = (phase: CommitPhase) => {
      if (phase === "state_saved" && !crashed) {
        crashed = true;
        throw new Error("process killed between saving the state and the ack");
      }
    };
    const first = await startTrigger(def, { bus, config, logger }, options({ probe, batchSize: 50 }));
    await send(bus, "integration", 0, 30);
    await eventually(() => crashed);
    await first.stop();
    const metrics = triggerMetrics(new Registry());
    const second = await startTrigger(def, { bus, config, logger }, options({ metrics }));
    await eventually(async () => {
      const info = await bus.jsm.consumers.info(streams.COMMANDS.name, "fn_integration");
      return info.num_ack_pending === 0 && info.num_pending === 0;
    }, 15_000);
    await second.stop();
    const store = await FunctionStateStore.open(bus, "integration");
    expect(Counter.parse((await store.load()).value.state)).toEqual({ count: 30, sum: (29 * 30) / 2 });
    expect([...invocations.values()].every((c) => c === 1)).toBe(true);
    expect(await outputsOf(bus, "integration")).toHaveLength(30);
    const skipped = (await metrics.messages.get()).values.find(
      (v) => v.labels.outcome === "duplicate_skipped",
    );
    expect(skipped?.value ?? 0).toBeGreaterThan(0);
  });
});

describe("trigger: a failed output publish", () => {
  it("hands back a batch whose output publish failed while later batches are acked; nothing lost", async () => {
    const { bus } = await fresh();
    const attempts = new Map<number, number>();
    const def = defineFunction<Input>({
      name: "quality",
      input: Input,
      tools: () => [],
      handle(batch) {
        return {
          events: batch.map((m) => {
            const n = m.event.data.n;
            attempts.set(n, (attempts.get(n) ?? 0) + 1);
            // On its first delivery, n = 12's output goes to a subject no stream stores: its publish fails.
            const lost = n === 12 && m.deliveryCount === 1;
            return {
              cause: m.seq,
              subject: lost ? "unstored.quality.done" : subjects.events.of("quality", "done"),
              type: "quality.done",
              data: { n },
            };
          }),
        };
      },
    });
    const metrics = triggerMetrics(new Registry());
    const trigger = await startTrigger(
      def,
      { bus, config, logger },
      options({ batchSize: 5, ackWaitMs: 10_000, metrics }),
    );
    await send(bus, "quality", 0, 30);
    await eventually(async () => {
      const info = await bus.jsm.consumers.info(streams.COMMANDS.name, "fn_quality");
      return info.num_ack_pending === 0 && info.num_pending === 0 && (attempts.get(12) ?? 0) >= 2;
    }, 15_000);
    await trigger.stop();
    const outputs = await outputsOf(bus, "quality");
    // Every input has its output once: the failed batch's outputs that did go through the first time
    // were published again on the redelivery and dropped as duplicates.
    expect(outputs.map((o) => (o.envelope.data as { n: number }).n).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 30 }, (_, i) => i),
    );
    expect(new Set(outputs.map((o) => o.envelope.id)).size).toBe(30);
    expect(attempts.get(12)).toBe(2);
    // Only n = 12's batch was handed back (not acked), and each of its inputs ran again once.
    const requeued = (await metrics.messages.get()).values.find((v) => v.labels.outcome === "requeued");
    const twice = [...attempts.values()].filter((a) => a === 2).length;
    expect(requeued?.value).toBe(twice);
    expect(twice).toBeGreaterThanOrEqual(1);
    expect(twice).toBeLessThanOrEqual(5);
    expect(await deadLettersOf(bus, "quality")).toHaveLength(0);
  });
});

describe("trigger: nats-server crash", () => {
  it("reconnects after nats-server is killed mid-stream and restarted; nothing lost, nothing doubled", async () => {
    const { bus, nats } = await fresh();
    const { def } = countingFunction("quality", 3);
    const total = 2_000;
    await send(bus, "quality", 0, total);
    const trigger = await startTrigger(
      def,
      { bus, config, logger },
      options({ batchSize: 20, ackWaitMs: 2_000 }),
    );
    const store = await FunctionStateStore.open(bus, "quality");
    await eventually(async () => {
      const s = (await store.load()).value.state;
      return s !== undefined && Counter.parse(s).count >= 300;
    }, 15_000);
    await nats.kill();
    await new Promise((r) => setTimeout(r, 300));
    await nats.restart();
    const final = await eventually(
      async () => {
        const s = Counter.parse((await store.load()).value.state);
        return s.count >= total ? s : undefined;
      },
      30_000,
      "every event applied after the restart",
    );
    await eventually(async () => {
      const info = await bus.jsm.consumers.info(streams.COMMANDS.name, "fn_quality");
      return info.num_ack_pending === 0 && info.num_pending === 0;
    }, 15_000);
    await trigger.stop();
    expect(final).toEqual({ count: total, sum: ((total - 1) * total) / 2 });
    const outputs = await outputsOf(bus, "quality");
    expect(outputs).toHaveLength(total);
    expect(new Set(outputs.map((o) => (o.envelope.data as { n: number }).n)).size).toBe(total);
  });
});

describe("trigger: graceful shutdown", () => {
  it("finishes the batch in hand on stop and hands back what it had buffered", async () => {
    const { bus } = await fresh();
    let release: (() => void) | undefined;
    const seen: number[] = [];
    const def = defineFunction<Input>({
      name: "architect",
      input: Input,
      tools: () => [],
      async handle(batch) {
        seen.push(...batch.map((m) => m.event.data.n));
        if (release === undefined) await new Promise<void>((r) => (release = r));
        return {
          events: batch.map((m) => ({
            cause: m.seq,
            subject: subjects.events.of("architect", "done"),
            type: "architect.done",
            data: { n: m.event.data.n },
          })),
        };
      },
    });
    // ack_wait 10 s: what was handed back must come back long before the server would redeliver it.
    const first = await startTrigger(
      def,
      { bus, config, logger },
      options({ batchSize: 1, ackWaitMs: 10_000 }),
    );
    await send(bus, "architect", 0, 5);
    await eventually(() => release !== undefined);
    const stopping = first.stop();
    release?.();
    await stopping;
    // The batch in hand was finished: its output is there and it was acked.
    expect(seen).toEqual([0]);
    expect((await outputsOf(bus, "architect")).map((o) => (o.envelope.data as { n: number }).n)).toEqual([0]);
    // The rest was handed back (nak), so the next instance takes it within seconds, not after ack_wait.
    const second = await startTrigger(def, { bus, config, logger }, options({ ackWaitMs: 10_000 }));
    const outputs = await eventually(async () => {
      const out = await outputsOf(bus, "architect");
      return out.length >= 5 ? out : undefined;
    }, 7_000);
    await second.stop();
    expect(outputs.map((o) => (o.envelope.data as { n: number }).n).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(seen.filter((n) => n === 0)).toHaveLength(1);
  });
});
