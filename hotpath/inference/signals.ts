import { DeliverPolicy, type JsMsg } from "@nats-io/jetstream";
import type { Bus } from "../../core/bus/bus.ts";
import { Candle, type Signal, marketEventType } from "../../core/domain/market.ts";
import { FeatureStream } from "../../core/features/feature-set.ts";
import { filterStep } from "../../core/ml/hmm.ts";
import { makeEvent, parseEvent } from "../../core/protocol/envelope.ts";
import { streams, subjects, symbolToken } from "../../core/subjects.ts";
import type { Logger } from "../../core/telemetry/log.ts";
import type { InferenceEngine } from "./engine.ts";
import { directionOf } from "./tools.ts";

/** Per instrument: its features, its regime filter, and the last bar seen. */
interface Track {
  features: FeatureStream;
  regimeProbs: number[] | undefined;
  regimeOf: string | undefined;
  prevClose: number;
}

export interface SignalLoopOptions {
  bus: Bus;
  engine: InferenceEngine;
  logger: Logger;
  /** The agent name stamped as the events' source. */
  source: string;
  /**
   * Candles stored before this time (ms) only warm the features up (replayed history after a restart);
   * later ones produce signals.
   */
  liveFrom: number;
  onSignal?: (signal: Signal) => void;
}

export interface SignalLoop {
  readonly stats: { candles: number; signals: number; rejected: number };
  stop(): Promise<void>;
}

const keyOf = (c: Candle) => `${c.venue}|${c.symbol}|${c.timeframe}`;

/**
 * Consumes closed candles from MARKET (an ordered consumer per instance, replaying what the stream
 * still holds so features are warm), computes the streaming features, predicts with the deployed
 * model, filters the regime with the model's HMM, and publishes `signal.generated` on
 * `events.signal.<symbol>`. Message ids are derived from (model version, instrument, bar), so
 * replicas and redeliveries publish each signal once.
 */
export async function startSignalLoop(options: SignalLoopOptions): Promise<SignalLoop> {
  const { bus, engine, logger } = options;
  const tracks = new Map<string, Track>();
  const inFlight = new Set<Promise<void>>();
  const stats = { candles: 0, signals: 0, rejected: 0 };
  const consumer = await bus.js.consumers.get(streams.MARKET.name, {
    filter_subjects: subjects.market.allOfKind("candle"),
    deliver_policy: DeliverPolicy.All,
  });
  const messages = await consumer.consume();

  const handle = (m: JsMsg) => {
    let event: ReturnType<typeof parseEvent<typeof Candle>>;
    try {
      event = parseEvent(m.json(), Candle);
    } catch (err) {
      stats.rejected++;
      logger.warn({ err, subject: m.subject, seq: m.seq }, "malformed candle skipped");
      return;
    }
    const candle = event.data;
    const key = keyOf(candle);
    let track = tracks.get(key);
    if (track === undefined) {
      track = {
        features: new FeatureStream(),
        regimeProbs: undefined,
        regimeOf: undefined,
        prevClose: Number.NaN,
      };
      tracks.set(key, track);
    }
    if (candle.ts <= track.features.lastBarTs) return; // a duplicate or an out-of-order bar
    stats.candles++;
    const row = track.features.push(candle);
    const prevClose = track.prevClose;
    track.prevClose = candle.close;
    const meta = engine.deployedMeta;
    if (meta === undefined) return;
    let regime: string | undefined;
    if (meta.regime !== undefined && !Number.isNaN(prevClose)) {
      if (track.regimeOf !== meta.version) {
        track.regimeProbs = undefined;
        track.regimeOf = meta.version;
      }
      const obs = [
        Math.log(candle.close / prevClose),
        Math.log((candle.high - candle.low) / candle.close + 1e-9),
      ];
      track.regimeProbs = filterStep(meta.regime.hmm, track.regimeProbs, obs);
      regime = meta.regime.labels[track.regimeProbs.indexOf(Math.max(...track.regimeProbs))];
    }
    const live = m.info.timestampNanos / 1e6 >= options.liveFrom;
    if (row === undefined || !live) return;
    const work = (async () => {
      const { probabilities, version } = await engine.predict([row], meta.version);
      const probability = probabilities[0] as number;
      const signal: Signal = {
        symbol: candle.symbol,
        venue: candle.venue,
        direction: directionOf(probability),
        probability,
        modelVersion: version,
        ts: candle.ts,
        ...(regime === undefined ? {} : { regime }),
      };
      await bus.publishEvent(
        makeEvent(
          {
            type: marketEventType.signal,
            source: options.source,
            subject: subjects.events.signal(candle.symbol),
            id: `signal-${version}-${candle.venue}-${symbolToken(candle.symbol)}-${candle.timeframe}-${candle.ts}`,
            data: signal,
          },
          event,
        ),
      );
      stats.signals++;
      options.onSignal?.(signal);
    })().catch((err: unknown) => logger.error({ err, key }, "signal failed"));
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };

  const done = (async () => {
    for await (const m of messages) handle(m);
  })().catch((err: unknown) => logger.error({ err }, "candle consumer stopped"));

  return {
    stats,
    async stop() {
      await messages.close();
      await done;
      await Promise.all([...inFlight]);
    },
  };
}
