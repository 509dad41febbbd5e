import type { z } from "zod";
import type { Bus } from "../../adapters/nats/bus.ts";
import { type Delivery, follow } from "../../adapters/nats/follow.ts";
import { publish } from "../../adapters/nats/publish.ts";
import type { Candle, Signal } from "../../core/domain/market.ts";
import { envelopeOf, events } from "../../core/events/catalogue.ts";
import { FeatureStream } from "../../core/features/feature-set.ts";
import { filterStep } from "../../core/ml/hmm.ts";
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

const CandleEvent = envelopeOf(events.candle);
type CandleEvent = z.infer<typeof CandleEvent>;

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
  const counts = { candles: 0, signals: 0 };

  const handle = (event: CandleEvent, m: Delivery) => {
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
    counts.candles++;
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
    const live = m.time >= options.liveFrom;
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
      await publish(
        bus,
        events.signal,
        {
          source: options.source,
          id: [version, candle.venue, symbolToken(candle.symbol), candle.timeframe, candle.ts],
          data: signal,
        },
        event,
      );
      counts.signals++;
      options.onSignal?.(signal);
    })().catch((err: unknown) => logger.error({ err, key }, "signal failed"));
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };

  const candles = await follow(
    bus,
    streams.MARKET.name,
    subjects.market.allOfKind("candle"),
    CandleEvent,
    handle,
    {
      logger,
      name: "inference candles",
    },
  );

  return {
    stats: {
      get candles() {
        return counts.candles;
      },
      get signals() {
        return counts.signals;
      },
      get rejected() {
        return candles.stats.rejected;
      },
    },
    async stop() {
      await candles.stop();
      await Promise.all([...inFlight]);
    },
  };
}
