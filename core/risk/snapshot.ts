import { z } from "zod";

/**
 * The risk state other services read for in-process checks: the limits in force and a snapshot of one
 * account (equity, positions, volatilities, correlations). The risk service writes both to KV
 * (`kvBuckets.risk`, keys from `riskKeys` in core/subjects.ts); the exchange reads the snapshot and calls
 * `preTradeCheck` from core/risk/pretrade.ts on every order.
 *
 * Units: equity and notionals in quote currency; position amounts in base currency, signed (short < 0);
 * volatility is the standard deviation of one day's simple return (0.03 = 3 % a day); limits that are
 * fractions are fractions of equity.
 */

/** The seed's limits: the defaults of MAX_POSITION_SIZE, MAX_PORTFOLIO_RISK, MAX_CORRELATION and MAX_LEVERAGE. */
export const seedLimits = Object.freeze({
  maxPositionSize: 0.02,
  maxPortfolioRisk: 0.15,
  maxCorrelation: 0.7,
  maxLeverage: 3,
});

const Fraction = z.number().gt(0).max(1);

/** The limits every order is checked against. Defaults are the seed's environment defaults. */
export const RiskLimits = z.object({
  /** Largest |position notional| / equity for one symbol (MAX_POSITION_SIZE). */
  maxPositionSize: Fraction.default(seedLimits.maxPositionSize),
  /** Largest portfolio VaR / equity at `riskConfidence` over `riskHorizonDays` (MAX_PORTFOLIO_RISK). */
  maxPortfolioRisk: Fraction.default(seedLimits.maxPortfolioRisk),
  /**
   * Largest direction-adjusted correlation between the symbol an order adds to and any other open
   * position: ρ·sign(a)·sign(b), so a hedge (long one, short a correlated other) never counts (MAX_CORRELATION).
   */
  maxCorrelation: Fraction.default(seedLimits.maxCorrelation),
  /** Largest gross exposure / equity (MAX_LEVERAGE). */
  maxLeverage: z.number().positive().default(seedLimits.maxLeverage),
  /** When on, every order is rejected. */
  killSwitch: z.boolean().default(false),
  /** Confidence of the portfolio VaR that `maxPortfolioRisk` bounds. */
  riskConfidence: z.number().gt(0.5).lt(1).default(0.99),
  /** Horizon in days of that VaR (scaled by √horizon). */
  riskHorizonDays: z.number().positive().max(365).default(1),
  /** Daily volatility assumed for a symbol the snapshot has no estimate for (conservative). */
  fallbackVolatility: z.number().positive().max(1).default(0.05),
});
export type RiskLimits = z.infer<typeof RiskLimits>;

/** The seed's limits (MAX_POSITION_SIZE=0.02, MAX_PORTFOLIO_RISK=0.15, MAX_CORRELATION=0.7, MAX_LEVERAGE=3). */
export const defaultLimits: RiskLimits = Object.freeze(RiskLimits.parse({}));

/** The limits the environment configures (the rest at their defaults). */
export function limitsFromConfig(config: {
  MAX_POSITION_SIZE: number;
  MAX_PORTFOLIO_RISK: number;
  MAX_CORRELATION: number;
  MAX_LEVERAGE: number;
}): RiskLimits {
  return RiskLimits.parse({
    maxPositionSize: config.MAX_POSITION_SIZE,
    maxPortfolioRisk: config.MAX_PORTFOLIO_RISK,
    maxCorrelation: config.MAX_CORRELATION,
    maxLeverage: config.MAX_LEVERAGE,
  });
}

/** A partial change of limits, as `set_limits` takes it; unknown keys are refused. */
export const LimitsPatch = RiskLimits.partial().strict();
export type LimitsPatch = z.infer<typeof LimitsPatch>;

/** One open position as risk sees it: signed amount and the latest mark price. */
export const RiskPosition = z.object({
  amount: z.number().finite(),
  mark: z.number().positive().finite(),
});
export type RiskPosition = z.infer<typeof RiskPosition>;

export const RiskSnapshot = z
  .object({
    account: z.string().min(1).default("default"),
    /** Current equity (cash + marked positions), quote currency. */
    equity: z.number().finite(),
    /** Highest equity seen; drawdown = 1 − equity / peakEquity. */
    peakEquity: z.number().finite(),
    /** Open positions by symbol. */
    positions: z.record(z.string().min(1), RiskPosition).default({}),
    /** Latest mark price by symbol, for symbols with no position too (orders on them need a price). */
    marks: z.record(z.string().min(1), z.number().positive().finite()).default({}),
    /** Daily return volatility by symbol. */
    volatility: z.record(z.string().min(1), z.number().nonnegative().finite()).default({}),
    /** The symbols the correlation matrix is over, in row order. */
    symbols: z.array(z.string().min(1)).default([]),
    /** Correlation of daily returns, `symbols.length` square, symmetric, unit diagonal. */
    correlation: z.array(z.array(z.number().min(-1).max(1))).default([]),
    limits: RiskLimits.default(defaultLimits),
    /** Integer UTC milliseconds. */
    updatedAt: z.number().int().nonnegative(),
  })
  .superRefine((s, ctx) => {
    const n = s.symbols.length;
    if (s.correlation.length !== n) {
      ctx.addIssue({
        code: "custom",
        path: ["correlation"],
        message: `correlation must have ${n} rows (one per symbol), got ${s.correlation.length}`,
      });
      return;
    }
    if (new Set(s.symbols).size !== n) {
      ctx.addIssue({ code: "custom", path: ["symbols"], message: "symbols must be distinct" });
    }
    for (let i = 0; i < n; i++) {
      const row = s.correlation[i] ?? [];
      if (row.length !== n) {
        ctx.addIssue({
          code: "custom",
          path: ["correlation", i],
          message: `row ${i} must have ${n} entries, got ${row.length}`,
        });
        continue;
      }
      if (Math.abs((row[i] ?? 0) - 1) > 1e-9) {
        ctx.addIssue({ code: "custom", path: ["correlation", i, i], message: "diagonal must be 1" });
      }
      for (let j = 0; j < i; j++) {
        if (Math.abs((row[j] ?? 0) - (s.correlation[j]?.[i] ?? 0)) > 1e-9) {
          ctx.addIssue({ code: "custom", path: ["correlation", i, j], message: "matrix must be symmetric" });
        }
      }
    }
  });
export type RiskSnapshot = z.infer<typeof RiskSnapshot>;

/** An empty snapshot of an account with the given equity: no positions, no estimates. */
export function emptySnapshot(
  equity: number,
  limits: RiskLimits = defaultLimits,
  account = "default",
  now = 0,
): RiskSnapshot {
  return {
    account,
    equity,
    peakEquity: equity,
    positions: {},
    marks: {},
    volatility: {},
    symbols: [],
    correlation: [],
    limits,
    updatedAt: now,
  };
}
