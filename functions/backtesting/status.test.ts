import { describe, expect, it } from "vitest";
import { ensureTopology } from "../../core/bus/topology.ts";
import { functionRegistry, functionToolDeps } from "../../core/functions/tools-app.ts";
import { syntheticBars } from "../../core/ml/synthetic.ts";
import { exportOnnx } from "../../core/ml/onnx-export.ts";
import { trainOnBars } from "../../core/ml/train.ts";
import type { EventEnvelope } from "../../core/protocol/envelope.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { ModelStore } from "../../core/registry/model-store.ts";
import { subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { Registry } from "../../core/telemetry/metrics.ts";
import type { ToolContext } from "../../core/tools/tool.ts";
import { eventually, privateNats, testBus } from "../../test/nats.ts";
import { inProcessInvoker } from "../trigger/inprocess.ts";
import { triggerMetrics } from "../trigger/metrics.ts";
import { readStream, testConfig } from "../trigger/testing.ts";
import { startTrigger } from "../trigger/trigger.ts";
import { definition } from "./function.ts";

/**
 * Queued runs have a status (queued → running with progress → completed, or failed with its reason)
 * that get_backtest_result reports, progress is published while the run goes, and backtests read
 * registry models by version.
 */
const config = testConfig();
const logger = quietLogger("backtesting-status");

const ctx: ToolContext = { requestId: "r1", correlationId: "c1", transport: "local", logger };
const server = await privateNats();
const bus = await testBus(server.url);
await ensureTopology(bus);
const registry = functionRegistry(
  definition,
  functionToolDeps(definition, { config, logger, bus: async () => bus }),
);
const call = (tool: string, args: unknown) => registry.call(tool, args, ctx);

interface Answer {
  found: boolean;
  status?: string;
  progress?: { done: number; total: number; fraction: number };
  reason?: string;
  cause?: string;
  code?: string;
  summary?: { metrics: Record<string, unknown> };
}
const statusOf = async (runId: string) => (await call("get_backtest_result", { runId })) as Answer;

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
  const store = await ModelStore.open(bus);
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

describe("queued backtest status", () => {
  it("a queued run that fails is reported failed, with its reason, cause and code", async () => {
    // No trigger yet: the command waits on COMMANDS, and the run is queued.
    await call("submit_backtest", {
      runId: "no-model",
      spec: { data: { source: "simulated", bars: 500 }, strategy: { kind: "ml_signal" } },
    });
    expect(await statusOf("no-model")).toMatchObject({ found: true, status: "queued" });
    expect(await statusOf("never-submitted")).toEqual({ runId: "never-submitted", found: false });
  });

  it("runs: running with progress while the engine goes, published before the completion; then completed", async () => {
    const trigger = await startTrigger(
      definition,
      { bus, config, logger },
      { invoker: inProcessInvoker({ config, logger }), metrics: triggerMetrics(new Registry()) },
    );
    try {
      const failed = await eventually(
        async () => {
          const s = await statusOf("no-model");
          return s.status === "failed" ? s : undefined;
        },
        20_000,
        "the failed status",
      );
      expect(failed).toMatchObject({ cause: "model", code: "model.missing" });
      expect(failed.reason).toMatch(/ml_signal strategy needs a model/);

      const seen: { fraction: number; status: Answer; completedYet: boolean }[] = [];
      const checks: Promise<void>[] = [];
      const sub = bus.nc.subscribe(subjects.events.of("backtesting", "progress"), {
        callback: (_err, msg) => {
          const e = msg.json<EventEnvelope<{ runId: string; fraction: number }>>();
          if (e.data.runId !== "long" || seen.length > 0 || checks.length > 0) return;
          checks.push(
            (async () => {
              const status = await statusOf("long");
              const completed = await readStream(
                bus,
                "EVENTS",
                subjects.events.of("backtesting", "completed"),
              );
              seen.push({
                fraction: e.data.fraction,
                status,
                completedYet: completed.some((c) => (c.envelope.data as { runId: string }).runId === "long"),
              });
            })(),
          );
        },
      });
      await bus.nc.flush();
      await call("submit_backtest", {
        runId: "long",
        spec: {
          data: { source: "simulated", bars: 60_000, params: { seed: 5 } },
          strategy: { kind: "ma_crossover", fast: 10, slow: 40 },
        },
      });
      const done = await eventually(
        async () => {
          const s = await statusOf("long");
          return s.status === "completed" ? s : undefined;
        },
        120_000,
        "the completed status",
      );
      await Promise.all(checks);
      sub.unsubscribe();
      expect(done.summary?.metrics).toBeDefined();
      // The first progress event (a tenth of the run) arrived while the run was still going.
      expect(seen).toHaveLength(1);
      expect(seen[0]?.fraction).toBeCloseTo(0.1, 6);
      expect(seen[0]?.status.status).not.toBe("completed");
      expect(seen[0]?.completedYet).toBe(false);
      const progress = await readStream(bus, "EVENTS", subjects.events.of("backtesting", "progress"));
      const fractions = progress
        .map((p) => p.envelope.data as { runId: string; fraction: number })
        .filter((d) => d.runId === "long")
        .map((d) => d.fraction);
      expect(fractions).toEqual(
        [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1].map((f) => expect.closeTo(f, 6)),
      );

      // A registry model by version, through the queue too (submit_backtest resolves the version).
      await registryModel("status-model-1");
      await call("submit_backtest", {
        runId: "ml-version",
        spec: {
          data: { source: "simulated", bars: 3_000, params: { seed: 8 } },
          strategy: { kind: "ml_signal" },
          model: { version: "status-model-1" },
        },
      });
      const ml = await eventually(
        async () => {
          const s = await statusOf("ml-version");
          return s.status === "completed" || s.status === "failed" ? s : undefined;
        },
        60_000,
        "the ML run",
      );
      expect(ml.status).toBe("completed");
    } finally {
      await trigger.stop();
    }
  }, 90_000);

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
      model: { onnxBase64: Buffer.from(bytes).toString("base64") },
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
