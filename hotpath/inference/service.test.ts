import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool } from "../../adapters/nats/tool-transport.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { loadConfig } from "../../core/config.ts";
import { type Candle, Signal, marketEventType } from "../../core/domain/market.ts";
import { FEATURES, computeFeatures } from "../../core/features/feature-set.ts";
import { syntheticBars } from "../../core/ml/synthetic.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { modelKeys, objectStores, streams, subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import type { ToolError } from "../../core/tools/errors.ts";
import { eventually, privateNats, testBus } from "../../test/nats.ts";
import type { RunningService } from "../kit/types.ts";
import { startInference } from "./service.ts";

const nats = await privateNats();
const busA = await testBus(nats.url, "inference-a");
const busB = await testBus(nats.url, "inference-b");
const client = await testBus(nats.url, "inference-client");
await ensureTopology(busA);

const post = async (svc: RunningService, tool: string, body: unknown) => {
  const res = await fetch(`${svc.url}/tools/${tool}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const toolError = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as ToolError,
  );

const planted = syntheticBars({ bars: 600, seed: "svc", phi: 0.3 }).bars;
const row = Array.from(computeFeatures(planted).rows.at(-1) as Float64Array);

describe("inference service over real NATS", () => {
  let a: RunningService;
  let b: RunningService;
  let first: string;

  beforeAll(async () => {
    // A trains and deploys the first model (nothing is deployed); B starts after and only loads it.
    a = await startInference(
      { config: loadConfig({}), bus: busA, logger: quietLogger() },
      { port: 0, instanceId: "inf-a" },
    );
    b = await startInference(
      { config: loadConfig({ MODEL_CACHE_SIZE: "2" }), bus: busB, logger: quietLogger() },
      { port: 0, instanceId: "inf-b" },
      { bootstrap: false },
    );
  });
  afterAll(async () => {
    await a.stop();
    await b.stop();
  });

  it("trains and deploys a first model at first start, which both instances serve", async () => {
    const list = (await callTool(client, "mlengineer", "list_models", {})) as {
      deployed: string;
      models: {
        version: string;
        deployed: boolean;
        features: string[];
        sha256: string;
        onnx_max_abs_diff: number;
      }[];
    };
    expect(list.models).toHaveLength(1);
    first = list.deployed;
    expect(list.models[0]).toMatchObject({ version: first, deployed: true, features: [...FEATURES] });
    expect(list.models[0]?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(list.models[0]?.onnx_max_abs_diff).toBeLessThan(1e-5);
    for (const svc of [a, b]) {
      const r = await post(svc, "predict", { features: row });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ model_version: first });
      expect((await fetch(`${svc.url}/ready`)).status).toBe(200);
    }
  });

  it("deploy → every running instance answers with the new version", async () => {
    const trained = (await callTool(
      client,
      "inference",
      "train_model",
      { kind: "mlp", source: { type: "synthetic", bars: 3000, seed: 5, phi: 0.3 }, epochs: 5 },
      { timeout: 30_000 },
    )) as { version: string; validation: { auc: number }; deployed: boolean };
    expect(trained.deployed).toBe(false);
    expect(trained.validation.auc).toBeGreaterThan(0.55);
    const deployed = await post(a, "deploy_model", { version: trained.version });
    expect(deployed).toMatchObject({ status: 200, body: { deployed: trained.version, previous: first } });
    for (const svc of [a, b]) {
      await eventually(
        async () => (await post(svc, "predict", { features: row })).body.model_version === trained.version,
        5_000,
        `${svc.instanceId} to serve ${trained.version}`,
      );
    }
    // The old version stays addressable by name.
    expect((await post(b, "predict", { rows: [row, row], model_version: first })).body).toMatchObject({
      model_version: first,
      probabilities: [expect.any(Number), expect.any(Number)],
    });
  });

  it("gives clear errors for a wrong feature count, a non-number, missing names and an unknown model", async () => {
    const short = await post(a, "predict", { features: row.slice(0, 15) });
    expect(short.status).toBe(400);
    expect(short.body.error).toMatchObject({
      code: RpcCode.InvalidParams,
      message: expect.stringContaining("expected 16 features"),
    });
    const nan = await toolError(
      callTool(client, "inference", "predict", { features: [...row.slice(0, 15), Number.NaN] }),
    );
    expect(nan?.code).toBe(RpcCode.InvalidParams);
    expect(JSON.stringify(nan?.data)).toContain("features");
    const named = await toolError(
      callTool(client, "inference", "predict", { features: { ret_1: 0.1, bogus: 2 } }),
    );
    expect(named?.message).toMatch(/missing ret_3, .*unknown bogus/);
    const unknown = await toolError(
      callTool(client, "inference", "predict", { features: row, model_version: "nope" }),
    );
    expect(unknown).toMatchObject({ code: RpcCode.InvalidParams, message: 'unknown model version "nope"' });
    const both = await post(a, "predict", { features: row, rows: [row] });
    expect(JSON.stringify(both.body.error)).toContain("give exactly one of features, rows or candles");
  });

  it("refuses to deploy an artifact that no longer matches its hash, and keeps serving the current model", async () => {
    const trained = (await callTool(client, "inference", "train_model", {
      source: { type: "synthetic", bars: 1000, seed: 9 },
    })) as { version: string };
    const before = (await callTool(client, "inference", "list_models", {})) as { deployed: string };
    const os = await client.objectStore(objectStores.models);
    const bytes = (await os.getBlob(modelKeys.artifact(trained.version))) as Uint8Array;
    const tampered = bytes.slice();
    tampered[tampered.length - 5] = (tampered[tampered.length - 5] as number) ^ 0xff;
    await os.putBlob({ name: modelKeys.artifact(trained.version) }, tampered);
    const refused = await toolError(
      callTool(client, "inference", "deploy_model", { version: trained.version }),
    );
    expect(refused).toMatchObject({
      code: RpcCode.Rejected,
      message: expect.stringContaining("corrupt or was replaced"),
    });
    const after = (await callTool(client, "inference", "list_models", {})) as { deployed: string };
    expect(after.deployed).toBe(before.deployed);
    const predicting = await toolError(
      callTool(client, "inference", "predict", { features: row, model_version: trained.version }),
    );
    expect(predicting?.message).toContain("corrupt");
    expect((await post(a, "predict", { features: row })).body.model_version).toBe(before.deployed);
  });

  it("keeps at most MODEL_CACHE_SIZE sessions loaded and reloads an evicted version on demand", async () => {
    const extra = (await callTool(client, "inference", "train_model", {
      source: { type: "synthetic", bars: 800, seed: 11 },
    })) as { version: string };
    const loaded = async () => {
      const text = await (await fetch(`${b.url}/metrics`)).text();
      return Number(/^bot4_inference_models_loaded\{[^}]*\} (\d+)$/m.exec(text)?.[1]);
    };
    // B has MODEL_CACHE_SIZE=2: the deployed model, then `first`, then `extra` (evicting `first`), then `first` again.
    for (const version of [first, extra.version, first]) {
      expect((await post(b, "predict", { features: row, model_version: version })).body.model_version).toBe(
        version,
      );
      expect(await loaded()).toBeLessThanOrEqual(2);
    }
    expect(await loaded()).toBe(2);
  });

  it("predicts the last bar of a candle series with the features computed from that series", async () => {
    const window = planted.slice(-100);
    const lastRow = Array.from(computeFeatures(window).rows.at(-1) as Float64Array);
    const fromCandles = await post(a, "predict", { candles: window });
    const fromRow = await post(a, "predict", { features: lastRow });
    expect(fromCandles.body).toEqual(fromRow.body);
  });

  it("publishes signals with the deployed version and a regime for closed candles on MARKET", async () => {
    const deployed = ((await callTool(client, "inference", "list_models", {})) as { deployed: string })
      .deployed;
    const received: Signal[] = [];
    const sub = client.nc.subscribe(subjects.events.signal("ETH/USDT"), {
      callback: (_err, msg) => {
        received.push(Signal.parse((msg.json() as { data: unknown }).data));
      },
    });
    await client.nc.flush();
    const bars = syntheticBars({ bars: 50, seed: "live", startPrice: 2000 }).bars;
    for (const bar of bars) {
      const candle: Candle = { venue: "paper", symbol: "ETH/USDT", timeframe: "1m", ...bar };
      const subject = subjects.market.of("paper", "candle", candle.symbol);
      await client.publishEvent(
        makeEvent({ type: marketEventType.candle, source: "test", subject, data: candle, id: `c-${bar.ts}` }),
      );
    }
    // 50 bars − 39 warm-up bars = 11 signals, published once even though two instances consume them.
    const stored = async () =>
      (
        await client.jsm.streams.info(streams.EVENTS.name, {
          subjects_filter: subjects.events.signal("ETH/USDT"),
        })
      ).state.messages;
    await eventually(async () => (await stored()) >= 11 && received.length >= 11, 10_000, "11 signals");
    expect(await stored()).toBe(11);
    expect(new Set(received.map((s) => s.ts)).size).toBe(11);
    for (const s of received) {
      expect(s).toMatchObject({ symbol: "ETH/USDT", venue: "paper", modelVersion: deployed });
      expect(["calm", "volatile"]).toContain(s.regime);
    }
    sub.unsubscribe();
  });

  it("serves extract_features and detect_regime", async () => {
    const feats = (await callTool(client, "inference", "extract_features", {
      candles: planted,
      last_only: true,
    })) as {
      rows: { ts: number; values: number[] }[];
    };
    expect(feats.rows).toHaveLength(1);
    expect(feats.rows[0]?.values).toEqual(row);
    const { bars, regimes } = syntheticBars({ bars: 1500, seed: "svc-hmm", stay: 0.985 });
    const fit = (await callTool(
      client,
      "mlengineer",
      "detect_regime",
      { candles: bars },
      { timeout: 20_000 },
    )) as {
      path: { regime: number; probabilities: number[] }[];
      labels: string[];
    };
    expect(fit.labels).toEqual(["calm", "volatile"]);
    const hits = fit.path.filter((p, t) => p.regime === regimes[t + 1]).length;
    expect(hits / fit.path.length).toBeGreaterThan(0.9);
    const unordered = await toolError(
      callTool(client, "inference", "detect_regime", { candles: [...bars.slice(0, 100)].reverse() }),
    );
    expect(unordered?.code).toBe(RpcCode.InvalidParams);
    expect(unordered?.data).toMatchObject({
      issues: [{ path: "candles.1.ts", message: "bars must be in strictly increasing time order" }],
    });
  });
});
