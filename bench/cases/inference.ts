import * as ort from "onnxruntime-node";
import { Bus } from "../../adapters/nats/bus.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { callTool } from "../../adapters/nats/tool-transport.ts";
import { loadConfig } from "../../core/config.ts";
import { buildDataset } from "../../core/ml/dataset.ts";
import type { ModelMetadata } from "../../core/ml/model-meta.ts";
import { ONNX_INPUT, ONNX_OUTPUT, exportOnnx } from "../../core/ml/onnx-export.ts";
import { syntheticBars } from "../../core/ml/synthetic.ts";
import { trainOnBars } from "../../core/ml/train.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { sha256 } from "../../adapters/nats/model-store.ts";
import { LoadedModel } from "../../hotpath/inference/onnx-model.ts";
import { startInference } from "../../hotpath/inference/service.ts";
import { type BenchCase, type BenchResult, Recorder, measureSequential } from "../harness.ts";

/**
 * Inference: one `predict` through the micro-batcher beside the raw `session.run` floor (same session,
 * same run), the amortised cost per row of `session.run` at batch 32 and 1024, and predictions/s
 * through the running service (NATS tool calls) under concurrent load.
 */
const inferenceCase: BenchCase = {
  name: "inference",
  order: 40,
  async run({ natsUrl, scale, log }) {
    const results: BenchResult[] = [];
    const bars = syntheticBars({ bars: 3_000, seed: "bench", phi: 0.3 }).bars;
    const { model, metrics } = trainOnBars(bars, { kind: "logistic" });
    const bytes = exportOnnx(model, { version: "bench", featureSet: "ta16" });
    const rows = buildDataset(bars).x;
    const width = model.features.length;
    const meta: ModelMetadata = {
      version: "bench",
      kind: "logistic",
      featureSet: "ta16",
      features: [...model.features],
      inputName: ONNX_INPUT,
      outputName: ONNX_OUTPUT,
      horizon: 1,
      metrics,
      sha256: sha256(bytes),
      bytes: bytes.length,
      createdAt: new Date().toISOString(),
      trainedOn: { source: "bench", bars: bars.length },
    };
    const loaded = await LoadedModel.load(bytes, meta, { maxBatch: 32 });
    const n = Math.max(2_000, Math.round(50_000 * scale));
    const tensorOf = (count: number) => {
      const data = new Float32Array(count * width);
      for (let i = 0; i < count; i++) data.set(rows[i % rows.length] as Float64Array, i * width);
      return new ort.Tensor("float32", data, [count, width]);
    };

    // Floor and single predict, interleaved in blocks so drift on the machine hits both alike.
    const one = tensorOf(1);
    const floorRec = new Recorder();
    const predictRec = new Recorder();
    let k = 0;
    for (let i = 0; i < 2_000; i++) {
      await loaded.runner.session.run({ [ONNX_INPUT]: one });
      await loaded.predict(rows[i % rows.length] as Float64Array);
    }
    const block = 500;
    for (let done = 0; done < n; done += block) {
      for (let i = 0; i < block; i++)
        await floorRec.time(() => loaded.runner.session.run({ [ONNX_INPUT]: one }));
      for (let i = 0; i < block; i++)
        await predictRec.time(() => loaded.predict(rows[k++ % rows.length] as Float64Array));
    }
    const floor = floorRec.stats();
    const single = predictRec.stats();
    results.push({ case: "onnx session.run, 1 row (floor)", unit: "run", latency: floor });
    results.push({
      case: "predict, 1 row via micro-batcher",
      unit: "prediction",
      latency: single,
      notes: { p50_vs_floor: single.p50_us / floor.p50_us, p99_vs_floor: single.p99_us / floor.p99_us },
    });

    for (const batch of [32, 1024]) {
      const t = tensorOf(batch);
      const runs = Math.max(200, Math.round((batch === 32 ? 20_000 : 2_000) * scale));
      const r = await measureSequential(() => loaded.runner.session.run({ [ONNX_INPUT]: t }), runs);
      results.push({
        case: `onnx session.run, batch ${batch}`,
        unit: "run",
        ...r,
        notes: {
          ns_per_row_mean: (r.latency.mean_us * 1000) / batch,
          ns_per_row_p50: (r.latency.p50_us * 1000) / batch,
          rows_per_s: r.throughput * batch,
        },
      });
    }
    await loaded.close();

    // Concurrent predictions in-process (no transport): what batching buys.
    const wide = await LoadedModel.load(bytes, meta, { maxBatch: 1024 });
    for (const concurrency of [1, 64, 1024]) {
      const total = Math.max(concurrency * 20, Math.round(200_000 * scale));
      const start = process.hrtime.bigint();
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < total) {
            next++;
            await wide.predict(rows[next % rows.length] as Float64Array);
          }
        }),
      );
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      results.push({
        case: `predict in-process, ${concurrency} concurrent`,
        unit: "prediction",
        throughput: Math.round(total / seconds),
        notes: { mean_rows_per_run: wide.batcher.stats.rows / wide.batcher.stats.runs },
      });
      wide.batcher.stats.runs = 0;
      wide.batcher.stats.rows = 0;
    }
    await wide.close();

    // Through the service: predict tool calls over NATS from concurrent callers.
    const connect = (name: string) => Bus.connect({ url: natsUrl, name, logger: quietLogger(name) });
    const serverBus = await connect("bench-inference");
    const clientBus = await connect("bench-inference-client");
    try {
      await ensureTopology(serverBus);
      const svc = await startInference(
        { config: loadConfig({}), bus: serverBus, logger: quietLogger() },
        { port: 0, instanceId: "bench" },
        { bootstrap: { type: "synthetic", bars: 1_000, seed: 1, phi: 0.2 } },
      );
      try {
        const features = Array.from(rows[0] as Float64Array);
        const call = () => callTool(clientBus, "inference", "predict", { features });
        const seq = await measureSequential(call, Math.max(500, Math.round(5_000 * scale)));
        results.push({ case: "predict tool over NATS, sequential", unit: "call", ...seq });
        for (const concurrency of [16, 64]) {
          const total = Math.max(2_000, Math.round(20_000 * scale));
          const rec = new Recorder();
          let next = 0;
          const start = process.hrtime.bigint();
          await Promise.all(
            Array.from({ length: concurrency }, async () => {
              while (next < total) {
                next++;
                await rec.time(call);
              }
            }),
          );
          const seconds = Number(process.hrtime.bigint() - start) / 1e9;
          results.push({
            case: `predict tool over NATS, ${concurrency} concurrent`,
            unit: "prediction",
            latency: rec.stats(),
            throughput: Math.round(total / seconds),
          });
        }
        const many = Array.from({ length: 256 }, (_, i) => Array.from(rows[i % rows.length] as Float64Array));
        const bulk = await measureSequential(
          () => callTool(clientBus, "inference", "predict", { rows: many }),
          Math.max(100, Math.round(1_000 * scale)),
        );
        results.push({
          case: "predict tool over NATS, 256 rows per call",
          unit: "call",
          ...bulk,
          notes: { rows_per_s: bulk.throughput * 256, us_per_row_p50: bulk.latency.p50_us / 256 },
        });
        log(`service at ${svc.url}; MAX_INFERENCE_BATCH=${loadConfig({}).MAX_INFERENCE_BATCH}`);
      } finally {
        await svc.stop();
      }
    } finally {
      await clientBus.drain();
      await serverBus.drain();
    }
    return results;
  },
};

export default inferenceCase;
