import type { Bar } from "../features/feature-set.ts";
import { createRandom } from "../math/random.ts";

/**
 * Seeded synthetic bars with known structure, for training at first start and for tests that must
 * know the truth: an AR(1) term in returns plants a learnable next-bar signal (`phi = 0` is pure
 * noise), and a two-state Markov chain switches volatility regimes.
 */
export interface SyntheticOptions {
  bars: number;
  seed: number | string;
  /** AR(1) coefficient of returns: the planted signal; 0 for none. */
  phi?: number;
  /** Per-bar return volatility of each regime. */
  sigmas?: readonly number[];
  /** Probability of staying in the current regime at each bar. */
  stay?: number;
  startPrice?: number;
  startTs?: number;
  stepMs?: number;
}

export interface SyntheticSeries {
  bars: Bar[];
  /** The true regime of each bar (index into `sigmas`). */
  regimes: number[];
}

export function syntheticBars(options: SyntheticOptions): SyntheticSeries {
  const rng = createRandom(options.seed);
  const phi = options.phi ?? 0;
  const sigmas = options.sigmas ?? [0.004, 0.016];
  const stay = options.stay ?? 0.98;
  const step = options.stepMs ?? 60_000;
  let ts = options.startTs ?? 1_700_000_000_000;
  let price = options.startPrice ?? 30_000;
  let regime = 0;
  let prevShock = 0;
  const bars: Bar[] = [];
  const regimes: number[] = [];
  for (let i = 0; i < options.bars; i++) {
    if (i > 0 && rng.uniform() > stay)
      regime = (regime + 1 + Math.floor(rng.uniform() * (sigmas.length - 1))) % sigmas.length;
    const sigma = sigmas[regime] as number;
    // The AR term acts on the standardised previous shock, so the signal strength is the same in every regime.
    const z = phi * prevShock + Math.sqrt(1 - phi * phi) * rng.normal();
    prevShock = z;
    const r = sigma * z;
    const open = price;
    const close = open * Math.exp(r);
    const high = Math.max(open, close) * Math.exp(Math.abs(rng.normal()) * sigma * 0.5);
    const low = Math.min(open, close) * Math.exp(-Math.abs(rng.normal()) * sigma * 0.5);
    const volume = Math.exp(3 + 0.3 * rng.normal()) * (1 + regime);
    bars.push({ ts, open, high, low, close, volume });
    regimes.push(regime);
    price = close;
    ts += step;
  }
  return { bars, regimes };
}
