import { clean } from "../../core/domain/wire.ts";
import { snakeKey as snake } from "../../core/tools/snake.ts";
import { describe, expect, it } from "vitest";
import { runBacktest } from "../../core/backtest/backtest.ts";
import { BacktestSpec } from "../../core/backtest/spec.ts";
import type { Candle } from "../../core/domain/market.ts";
import { simulateCandles } from "../../core/market/simulator.ts";
import { syntheticBars } from "../../core/ml/synthetic.ts";
import { exportOnnx } from "../../core/ml/onnx-export.ts";
import { trainOnBars } from "../../core/ml/train.ts";
import { envelopeOf, events } from "../../core/events/catalogue.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { objectStores, subjects } from "../../core/subjects.ts";
import { Registry } from "../../core/telemetry/metrics.ts";
import { ToolError } from "../../core/tools/errors.ts";
import { eventually } from "../../test/nats.ts";
import { inProcessInvoker } from "../trigger/inprocess.ts";
import { triggerMetrics } from "../trigger/metrics.ts";
import { readStream } from "../trigger/testing.ts";
import { startTrigger } from "../trigger/trigger.ts";
import { resultObjectName } from "./command.ts";
import { definition } from "./function.ts";
import { backtestingTestbed } from "./testing.ts";
import { handler } from "./handler.ts";
import { BATCH_KIND, BatchResult } from "../../core/functions/run.ts";
import { scoreSeries } from "./onnx-signals.ts";
import { statusObjectName } from "./status.ts";

const { config, logger, ctx, bus, registry } = await backtestingTestbed("backtesting-test");
const trigger = await startTrigger(
  definition,
  { bus, config, logger },
  { invoker: inProcessInvoker({ config, logger }), metrics: triggerMetrics(new Registry()) },
);

function command(runId: string, spec: unknown) {
  return makeEvent({
    type: "backtest.requested",
    source: "test",
    subject: subjects.commands.of("backtesting", "run"),
    data: { runId, spec },
  });
}

/** A model trained (core/ml) on synthetic bars with a planted AR(1) signal, exported to ONNX. */
function trainedModel() {
  const { bars } = syntheticBars({ bars: 3_000, seed: "train", phi: 0.3, startTs: Date.UTC(2024, 0, 1) });
  const { model } = trainOnBars(bars, { kind: "logistic", seed: 1 });
  return exportOnnx(model, { version: "test-1", featureSet: "ta16" });
}

function syntheticCandles(seed: string, n: number): Candle[] {
  return syntheticBars({ bars: n, seed, phi: 0.3, startTs: Date.UTC(2024, 6, 1) }).bars.map((b) => ({
    ...b,
    venue: "sim",
    symbol: "BTC/USDT",
    timeframe: "1m" as const,
  }));
}

describe("backtesting function over the bus", () => {
  it("a command on COMMANDS yields progress, backtest.completed and a stored result", async () => {
    const spec = {
      data: { source: "simulated", bars: 20_000, params: { seed: 3, timeframe: "5m" } },
      strategy: { kind: "ma_crossover", fast: 12, slow: 48, allowShort: true },
    };
    await bus.publishEvent(command("run-1", spec));
    const completed = await eventually(
      async () => {
        const got = await readStream(bus, "EVENTS", subjects.events.of("backtesting", "completed"));
        return got.length > 0 ? got : undefined;
      },
      20_000,
      "backtest.completed",
    );
    expect(completed).toHaveLength(1);
    const event = completed[0]?.envelope;
    expect(event?.type).toBe("backtest.completed");
    const data = event?.data as {
      runId: string;
      resultObject: string;
      summary: { metrics: { trades: number; finalEquity: number } };
    };
    expect(data.runId).toBe("run-1");
    expect(data.resultObject).toBe(resultObjectName("run-1"));

    // The same spec run here gives the same numbers: the function runs core's engine, deterministically.
    const local = runBacktest(
      BacktestSpec.parse(spec),
      simulateCandles({ seed: 3, timeframe: "5m" }, 20_000),
    );
    expect(data.summary.metrics).toEqual(local.metrics);
    expect(local.metrics.trades).toBeGreaterThan(10);

    const progress = await readStream(bus, "EVENTS", subjects.events.of("backtesting", "progress"));
    expect(progress.map((p) => (p.envelope.data as { done: number }).done)).toEqual(
      Array.from({ length: 11 }, (_, k) => k * 2_000),
    );
    expect(Math.max(...progress.map((p) => p.seq))).toBeLessThan(completed[0]?.seq as number);
    // Every published envelope is its catalogue entry's: the type, and data of the entry's schema.
    for (const p of progress) expect(envelopeOf(events.backtesting.progress).parse(p.envelope)).toBeTruthy();
    expect(envelopeOf(events.backtesting.completed).parse(event).data.runId).toBe("run-1");

    // The trigger publishes events and puts objects concurrently: the object may land just after the event.
    const store = await bus.objectStore(objectStores.results);
    const blob = await eventually(
      async () => (await store.getBlob(resultObjectName("run-1"))) ?? undefined,
      10_000,
      "stored result",
    );
    const stored = JSON.parse(new TextDecoder().decode(blob as Uint8Array)) as {
      trades: unknown[];
      fillList: unknown[];
    };
    expect(stored.trades).toHaveLength(local.trades.length);
    expect(stored.fillList).toHaveLength(local.fillList.length);

    const fetched = (await registry.call("get_backtest_result", { run_id: "run-1" }, ctx)) as {
      found: boolean;
      summary: { metrics: { final_equity: number } };
    };
    expect(fetched.found).toBe(true);
    // The tool answers snake_case: the same metrics, every key renamed, fractions without binary
    // noise (12 significant digits; integers exactly).
    const shown = (v: unknown) => (typeof v === "number" && !Number.isInteger(v) ? clean(v) : v);
    expect(fetched.summary.metrics.final_equity).toBe(clean(local.metrics.finalEquity));
    expect(Math.abs(fetched.summary.metrics.final_equity / local.metrics.finalEquity - 1)).toBeLessThan(
      1e-11,
    );
    expect(fetched.summary.metrics).toEqual(
      Object.fromEntries(Object.entries(local.metrics).map(([k, v]) => [snake(k), shown(v)])),
    );
  });

  it("refused data yields backtest.failed with the reason, and nothing stored", async () => {
    const candles = simulateCandles({ seed: 1, timeframe: "1h" }, 50);
    const gappy = [...candles.slice(0, 20), ...candles.slice(23)];
    await bus.publishEvent(
      command("run-gap", {
        data: { source: "candles", candles: gappy },
        gaps: "refuse",
        strategy: { kind: "momentum" },
      }),
    );
    const failed = await eventually(
      async () => {
        const got = await readStream(bus, "EVENTS", subjects.events.of("backtesting", "failed"));
        return got.length > 0 ? got : undefined;
      },
      10_000,
      "backtest.failed",
    );
    expect(envelopeOf(events.backtesting.failed).parse(failed[0]?.envelope).data).toMatchObject({
      runId: "run-gap",
      cause: "data",
      reason: expect.stringMatching(/3 1h bar\(s\) missing/),
    });
    const store = await bus.objectStore(objectStores.results);
    expect(await store.getBlob(resultObjectName("run-gap"))).toBeNull();
  });

  it("submit_backtest queues a command the function runs", async () => {
    const queued = (await registry.call(
      "submit_backtest",
      {
        run_id: "run-tool",
        spec: { data: { source: "simulated", bars: 3_000 }, strategy: { kind: "bollinger" } },
      },
      ctx,
    )) as { run_id: string; result_object: string };
    expect(queued.run_id).toBe("run-tool");
    expect(queued.result_object).toBe(resultObjectName("run-tool"));
    const result = await eventually(
      async () => {
        const r = (await registry.call("get_backtest_result", { run_id: "run-tool" }, ctx)) as {
          found: boolean;
        };
        return r.found ? r : undefined;
      },
      15_000,
      "stored result",
    );
    expect(result.found).toBe(true);
  });
});

describe("run_backtest tool", () => {
  it("runs a small backtest synchronously and caps the lists", async () => {
    const out = (await registry.call(
      "run_backtest",
      {
        data: { source: "simulated", bars: 5_000, params: { seed: 9 } },
        strategy: { kind: "momentum", lookback: 30 },
        max_trades: 3,
      },
      ctx,
    )) as {
      metrics: { trades: number };
      trades: { entry_ts: number; exit_price: number }[];
      omitted_trades: number;
      equity_curve: unknown[];
    };
    expect(out.metrics.trades).toBeGreaterThan(3);
    expect(out.trades).toHaveLength(3);
    expect(out.trades[0]?.entry_ts).toBeGreaterThan(0);
    expect(out.trades[0]?.exit_price).toBeGreaterThan(0);
    expect(out.omitted_trades).toBe(out.metrics.trades - 3);
    expect(out.equity_curve.length).toBeLessThanOrEqual(2_000);
  });

  it("answers bad input with the zod issues and refused data with a precise rejection", async () => {
    await expect(
      registry.call("run_backtest", { strategy: { kind: "ma_crossover", fast: 50, slow: 20 } }, ctx),
    ).rejects.toMatchObject({
      code: RpcCode.InvalidParams,
      data: {
        issues: [
          expect.objectContaining({ path: "strategy.fast", message: "fast must be shorter than slow" }),
        ],
      },
    });
    const candles = simulateCandles({ seed: 2, timeframe: "1m" }, 30);
    const shuffled = [candles[1], candles[0], ...candles.slice(2)];
    const err = await registry
      .call(
        "run_backtest",
        { data: { source: "candles", candles: shuffled }, strategy: { kind: "momentum" } },
        ctx,
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).code).toBe(RpcCode.Rejected);
    expect((err as ToolError).message).toMatch(/bar 1 at .* comes after/);
    await expect(
      registry.call(
        "run_backtest",
        { data: { source: "simulated", bars: 10 }, strategy: { kind: "ml_signal" } },
        ctx,
      ),
    ).rejects.toMatchObject({ code: RpcCode.Rejected, message: expect.stringMatching(/needs a model/) });
  });

  it("runs the ML-signal strategy on a real ONNX model (onnxruntime-node)", async () => {
    const onnxBase64 = Buffer.from(trainedModel()).toString("base64");
    const candles = syntheticCandles("test", 4_000);
    const args = {
      data: { source: "candles", candles },
      strategy: { kind: "ml_signal", long_above: 0.55, short_below: 0.45, allow_short: true },
      fees: { maker: 0, taker: 0 },
      execution: "next_open",
      model: { onnx_base64: onnxBase64 },
    };
    const out = (await registry.call("run_backtest", args, ctx)) as {
      metrics: { trades: number; total_return: number };
    };
    // The model learnt the planted autocorrelation, so it trades and, without fees, profits from it.
    expect(out.metrics.trades).toBeGreaterThan(20);
    expect(out.metrics.total_return).toBeGreaterThan(0);
    const momentum = (await registry.call(
      "run_backtest",
      { ...args, strategy: { kind: "momentum", lookback: 1, allow_short: true }, model: undefined },
      ctx,
    )) as { metrics: { total_return: number } };
    expect(Number.isFinite(momentum.metrics.total_return)).toBe(true);
  });

  it("scores without look-ahead: the probability at bar t is the same with or without later bars", async () => {
    const bytes = trainedModel();
    const candles = syntheticCandles("lookahead", 600);
    const full = await scoreSeries(bytes, candles);
    for (const t of [100, 333, 599]) {
      const prefix = await scoreSeries(bytes, candles.slice(0, t + 1));
      expect(prefix[t]).toBe(full[t]);
    }
    expect(Number.isNaN(full[10] as number)).toBe(true); // features still warming up
  });

  it("rejects a model trained on another feature set", async () => {
    const { model } = trainOnBars(
      syntheticBars({ bars: 1_000, seed: 2, startTs: Date.UTC(2024, 0, 1) }).bars,
      { kind: "logistic" },
    );
    const other = Buffer.from(exportOnnx(model, { version: "x", featureSet: "other7" })).toString("base64");
    await expect(
      registry.call(
        "run_backtest",
        {
          data: { source: "simulated", bars: 100 },
          strategy: { kind: "ml_signal" },
          model: { onnx_base64: other },
        },
        ctx,
      ),
    ).rejects.toMatchObject({
      code: RpcCode.Rejected,
      message: expect.stringMatching(/feature set "other7"/),
    });
  });

  it("runs a walk-forward through its tool", async () => {
    const out = (await registry.call(
      "run_walk_forward",
      {
        data: { source: "simulated", bars: 4_000, params: { seed: 4, timeframe: "1h" } },
        strategy: { kind: "momentum" },
        grid: { lookback: [10, 50], threshold: [0, 0.01] },
        in_sample_bars: 1_500,
        out_of_sample_bars: 500,
      },
      ctx,
    )) as { combinations: number; windows: { in_sample: { from: number }; best: object }[] };
    expect(out.combinations).toBe(4);
    expect(out.windows).toHaveLength(5); // (4000 − 1500 − 500) / 500 + 1
    expect(Object.keys(out.windows[0]?.best ?? {}).sort()).toEqual(["lookback", "threshold"]);
    expect(out.windows[1]?.in_sample.from).toBeGreaterThan(0);
  });
});

describe("Lambda handler", () => {
  it("answers a trigger batch with the effects, no bus needed", async () => {
    const event = command("run-lambda", {
      data: { source: "simulated", bars: 2_000 },
      strategy: { kind: "momentum" },
    });
    const out = BatchResult.parse(
      await handler({
        kind: BATCH_KIND,
        function: "backtesting",
        stream: "COMMANDS",
        messages: [{ seq: 7, subject: event.subject, deliveryCount: 1, event }],
        now: 0,
      }),
    );
    expect(out.events.map((e) => e.type).slice(-1)).toEqual(["backtest.completed"]);
    expect(out.events.every((e) => e.cause === 7)).toBe(true);
    expect(out.objects.map((o) => o.name)).toEqual([
      resultObjectName("run-lambda"),
      statusObjectName("run-lambda"),
    ]);
    // No live channel in a Lambda: the progress events come with the completion, before it.
    expect(out.events.map((e) => e.type)).toEqual([
      ...Array(11).fill("backtest.progress"),
      "backtest.completed",
    ]);
  });
});

it("stops the trigger", async () => {
  await trigger.stop();
});
