import { describe, expect, it } from "vitest";
import { events } from "../../core/events/catalogue.ts";
import type { LiveChannel } from "../../core/functions/contract.ts";
import { exportOnnx } from "../../core/ml/onnx-export.ts";
import { syntheticBars } from "../../core/ml/synthetic.ts";
import { trainOnBars } from "../../core/ml/train.ts";
import { type EventEnvelope, makeEvent } from "../../core/protocol/envelope.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { NatsModelStore } from "../../adapters/nats/model-store.ts";
import { consumerName, objectStores, streams, subjects } from "../../core/subjects.ts";
import { Registry } from "../../core/telemetry/metrics.ts";
import { eventually } from "../../test/nats.ts";
import { inProcessInvoker } from "../trigger/inprocess.ts";
import type { Invoker } from "../trigger/invoker.ts";
import { triggerMetrics } from "../trigger/metrics.ts";
import { readStream } from "../trigger/testing.ts";
import { type CommitPhase, startTrigger, type TriggerOptions } from "../trigger/trigger.ts";
import { definition } from "./function.ts";
import { backtestingTestbed } from "./testing.ts";
import { statusObjectName } from "./status.ts";

/**
 * Queued runs have a status (queued → running with progress → completed, or failed with its reason
 * and code) that get_backtest_result reports; progress is published while the run goes, before the
 * completion; a redelivered or repeated command never runs a run twice nor resets it; backtests
 * read registry models by version. Real nats-server, real trigger, real worker thread.
 */
const { config, logger, bus, call } = await backtestingTestbed("backtesting-status");

interface Progress {
  done: number;
  total: number;
  fraction: number;
}
interface Answer {
  run_id: string;
  found: boolean;
  status?: string;
  attempt?: number;
  progress?: Progress;
  reason?: string;
  cause?: string;
  code?: string;
  summary?: { metrics: Record<string, unknown> };
}
const statusOf = async (runId: string) => (await call("get_backtest_result", { run_id: runId })) as Answer;
const until = (runId: string, states: string[], timeoutMs = 60_000) =>
  eventually(
    async () => {
      const s = await statusOf(runId);
      return s.status !== undefined && states.includes(s.status) ? s : undefined;
    },
    timeoutMs,
    `${runId} ${states.join("/")}`,
  );

/** The events the function published about one run, in stream order. */
async function eventsOf(runId: string) {
  const all = await readStream(bus, "EVENTS", subjects.events.ofAgent("backtesting"));
  return all.filter((e) => (e.envelope.data as { runId?: string }).runId === runId);
}

const trigger = (options: Partial<TriggerOptions> = {}) =>
  startTrigger(
    definition,
    { bus, config, logger },
    {
      invoker: inProcessInvoker({ config, logger }),
      metrics: triggerMetrics(new Registry()),
      ...options,
    },
  );

/** The consumer has acked everything delivered to it (nothing pending, nothing in flight). */
const drained = () =>
  eventually(
    async () => {
      const info = await bus.jsm.consumers.info(streams.COMMANDS.name, consumerName("backtesting"));
      return info.num_pending === 0 && info.num_ack_pending === 0;
    },
    60_000,
    "the backtesting consumer drained",
  );

/** A logistic model on planted AR(1) bars, exported to ONNX and saved in the registry. */
async function registryModel(version: string): Promise<Uint8Array> {
  const { bars } = syntheticBars({
    bars: 2_000,
    seed: "status-train",
    phi: 0.3,
    startTs: Date.UTC(2024, 0, 1),
  });
  const result = trainOnBars(bars, { kind: "logistic", seed: 1 });
  const bytes = exportOnnx(result.model, { version, featureSet: result.featureSet });
  const store = await NatsModelStore.open(bus);
  await store.save(bytes, {
    version,
    kind: result.model.kind,
    featureSet: result.featureSet,
    features: [...result.model.features],
    inputName: "features",
    outputName: "probability",
    horizon: result.horizon,
    metrics: result.metrics,
    createdAt: new Date().toISOString(),
    trainedOn: { source: "synthetic", bars: bars.length },
  });
  return bytes;
}

const LONG_BARS = 20_000;

describe("queued backtest status", () => {
  it("unknown runs are not found; submitted runs are queued until the function runs them", async () => {
    expect(await statusOf("never-submitted")).toEqual({ run_id: "never-submitted", found: false });
    // No trigger yet: the commands wait on COMMANDS, and the runs are queued.
    const noModel = await call("submit_backtest", {
      run_id: "no-model",
      spec: { data: { source: "simulated", bars: 500 }, strategy: { kind: "ml_signal" } },
    });
    expect(noModel).toMatchObject({ run_id: "no-model", status: "queued", duplicate: false });
    await call("submit_backtest", {
      run_id: "long",
      spec: {
        data: { source: "simulated", bars: LONG_BARS, params: { seed: 5 } },
        strategy: { kind: "ma_crossover", fast: 10, slow: 40 },
      },
    });
    expect(await statusOf("no-model")).toEqual({ run_id: "no-model", found: true, status: "queued" });
    expect(await statusOf("long")).toEqual({ run_id: "long", found: true, status: "queued" });
  });

  it("runs: failed with reason and code; running with increasing progress, published before the completion; completed", async () => {
    // Each live publish of the trigger is observed right after it lands, before the next one can be
    // made (the handler's live publishes go one after the other): what get_backtest_result answers
    // then is exactly what that progress step stored.
    const observed: { progress: Progress; answer: Answer; completedYet: boolean }[] = [];
    const inner = inProcessInvoker({ config, logger });
    const observing: Invoker = {
      kind: "inprocess",
      invoke: (def, payload, parsed, live) =>
        inner.invoke(def, payload, parsed, live === undefined ? undefined : observe(live)),
    };
    const observe = (live: LiveChannel): LiveChannel => ({
      async publish(effects) {
        await live.publish(effects);
        for (const e of effects.events ?? []) {
          const data = e.data as Progress & { runId: string };
          if (data.runId !== "long") continue;
          const completed = await readStream(bus, "EVENTS", events.backtesting.completed.pattern);
          observed.push({
            progress: { done: data.done, total: data.total, fraction: data.fraction },
            answer: await statusOf("long"),
            completedYet: completed.some((c) => (c.envelope.data as { runId: string }).runId === "long"),
          });
        }
      },
    });
    // The order the function's events reach a subscriber.
    const arrivals: string[] = [];
    const sub = bus.nc.subscribe(subjects.events.ofAgent("backtesting"), {
      callback: (_err, msg) => {
        const e = msg.json<EventEnvelope<{ runId: string }>>();
        if (e.data.runId === "long") arrivals.push(e.type);
      },
    });
    await bus.nc.flush();
    const running = await trigger({ invoker: observing });
    try {
      const failed = await until("no-model", ["failed", "completed"]);
      expect(failed).toMatchObject({ status: "failed", cause: "model", code: "model.missing", attempt: 1 });
      expect(failed.reason).toMatch(/ml_signal strategy needs a model/);
      // The trigger stores a batch's objects before it publishes the events announcing them.
      const failedEvents = await eventually(
        async () => {
          const got = await eventsOf("no-model");
          return got.length > 0 ? got : undefined;
        },
        10_000,
        "backtest.failed of no-model",
      );
      expect(failedEvents.map((e) => e.envelope.data)).toEqual([
        {
          runId: "no-model",
          reason: failed.reason,
          cause: "model",
          code: "model.missing",
        },
      ]);

      const done = await until("long", ["completed", "failed"]);
      expect(done.status).toBe("completed");
      expect(done.summary?.metrics).toBeDefined();
      expect(done.progress).toEqual({ done: LONG_BARS, total: LONG_BARS, fraction: 1 });

      // 0 bars, every tenth, the end: each seen as `running` with exactly that progress, none after
      // the completion.
      expect(observed.map((o) => o.progress.done)).toEqual(
        Array.from({ length: 11 }, (_, k) => (k * LONG_BARS) / 10),
      );
      for (const o of observed) {
        expect(o.progress.total).toBe(LONG_BARS);
        expect(o.answer).toEqual({
          run_id: "long",
          found: true,
          status: "running",
          attempt: 1,
          progress: o.progress,
        });
        expect(o.completedYet).toBe(false);
      }
      const fractions = observed.map((o) => o.progress.fraction);
      expect(fractions.slice(1).every((f, k) => f > (fractions[k] as number))).toBe(true);
      expect(fractions[10]).toBe(1);

      // A subscriber got every progress event before the completion.
      await eventually(() => arrivals.length === 12, 5_000, "the events of the long run");
      expect(arrivals).toEqual([...Array(11).fill("backtest.progress"), "backtest.completed"]);

      // A registry model by version, through the queue too (submit_backtest resolves the version).
      await registryModel("status-model-1");
      await call("submit_backtest", {
        run_id: "ml-version",
        spec: {
          data: { source: "simulated", bars: 3_000, params: { seed: 8 } },
          strategy: { kind: "ml_signal" },
          model: { version: "status-model-1" },
        },
      });
      expect((await until("ml-version", ["completed", "failed"])).status).toBe("completed");
    } finally {
      sub.unsubscribe();
      await running.stop();
    }
  }, 120_000);

  it("a redelivered command is not run again; a repeated submit neither requeues nor resets the run", async () => {
    // Runs counted by invocation of the handler on the run's command.
    const runs = new Map<string, number>();
    const inner = inProcessInvoker({ config, logger });
    const counting: Invoker = {
      kind: "inprocess",
      invoke(def, payload, parsed, live) {
        for (const m of payload.messages) {
          const runId = (m.event as { data: { runId: string } }).data.runId;
          runs.set(runId, (runs.get(runId) ?? 0) + 1);
        }
        return inner.invoke(def, payload, parsed, live);
      },
    };
    // The process dies after the run's effects are published and the function's state is saved,
    // before the ack: the command is redelivered to the next process.
    let crashed = false;
    const probe = (phase: CommitPhase) => {
      if (phase === "state_saved" && !crashed) {
        crashed = true;
        throw new Error("process killed between saving the state and the ack");
      }
    };
    const spec = {
      data: { source: "simulated", bars: 5_000, params: { seed: 3 } },
      strategy: { kind: "momentum" },
    };
    const first = await trigger({ invoker: counting, probe, ackWaitMs: 1_500 });
    await call("submit_backtest", { run_id: "redelivered", spec });
    await eventually(() => crashed, 60_000, "the simulated crash");
    await first.stop();
    const completed = await statusOf("redelivered");
    expect(completed.status).toBe("completed");

    const metrics = triggerMetrics(new Registry());
    const second = await trigger({ invoker: counting, metrics, ackWaitMs: 1_500 });
    try {
      await drained();
      const skipped = (await metrics.messages.get()).values.find(
        (v) => v.labels.outcome === "duplicate_skipped",
      );
      expect(skipped?.value).toBe(1);
      expect(runs.get("redelivered")).toBe(1);

      // submit_backtest again, same runId: answered with the run as it is, nothing queued.
      const lastCommand = async () => (await bus.jsm.streams.info(streams.COMMANDS.name)).state.last_seq;
      const before = await lastCommand();
      for (const runId of ["redelivered", "no-model", "long"]) {
        expect(await call("submit_backtest", { run_id: runId, spec })).toMatchObject({
          run_id: runId,
          status: runId === "no-model" ? "failed" : "completed",
          duplicate: true,
        });
      }
      expect(await lastCommand()).toBe(before);

      // A second command for the finished run from another publisher (a new message id, so the
      // stream's duplicate window does not catch it): the function skips it, stores and emits nothing.
      const store = await bus.objectStore(objectStores.results);
      const statusBefore = await store.getBlob(statusObjectName("redelivered"));
      const eventsBefore = await eventsOf("redelivered");
      expect(eventsBefore.map((e) => e.envelope.type)).toEqual([
        ...Array(11).fill("backtest.progress"),
        "backtest.completed",
      ]);
      await bus.publishEvent(
        makeEvent({
          type: "backtest.requested",
          source: "test",
          subject: subjects.commands.of("backtesting", "run"),
          data: { runId: "redelivered", spec },
        }),
      );
      await eventually(() => runs.get("redelivered") === 2, 30_000, "the second command's batch");
      await drained();
      expect((await eventsOf("redelivered")).map((e) => e.seq)).toEqual(eventsBefore.map((e) => e.seq));
      expect(await store.getBlob(statusObjectName("redelivered"))).toEqual(statusBefore);
      expect(await statusOf("redelivered")).toEqual(completed);
    } finally {
      await second.stop();
    }
  }, 120_000);

  it("run_backtest reads a registry model by version: the same result as its inline bytes", async () => {
    const bytes = await registryModel("status-model-2");
    const base = {
      data: { source: "simulated", bars: 3_000, params: { seed: 12 } },
      strategy: { kind: "ml_signal" },
    };
    const byVersion = (await call("run_backtest", {
      ...base,
      model: { version: "status-model-2" },
    })) as Answer;
    const inline = (await call("run_backtest", {
      ...base,
      model: { onnx_base64: Buffer.from(bytes).toString("base64") },
    })) as Answer;
    expect(byVersion).toEqual(inline);
    await expect(
      call("run_backtest", { ...base, model: { version: "no-such-model" } }),
    ).rejects.toMatchObject({
      code: RpcCode.Rejected,
      data: { cause: "model", code: "model.unknown" },
    });
  });
});
