import { z } from "zod";
import type { Config } from "../../core/config.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { KellyInputError, kelly } from "../../core/risk/kelly.ts";
import { covariance, LinearAlgebraError, type Matrix, matrix, means } from "../../core/risk/linalg.ts";
import { riskMetrics } from "../../core/risk/metrics.ts";
import { simulatePaths } from "../../core/risk/montecarlo.ts";
import { Objectives, optimizePortfolio } from "../../core/risk/optimize.ts";
import { PreTradeReason, preTradeCheck } from "../../core/risk/pretrade.ts";
import type { LimitsPatch, RiskLimits, RiskSnapshot } from "../../core/risk/snapshot.ts";
import { normalVar, RiskInputError, type VarMethod, VarMethods, valueAtRisk } from "../../core/risk/var.ts";
import { ToolError } from "../../core/tools/errors.ts";
import { defineTool, type Tool, type ToolContext } from "../../core/tools/tool.ts";

/** What the stateful tools need from the running service (see runtime.ts). */
export interface RiskControl {
  limits(): RiskLimits;
  snapshot(account: string): RiskSnapshot;
  /** Applies a change of limits, stores it and audits it; resolves once the audit event is stored. */
  changeLimits(
    patch: LimitsPatch,
    kind: "limits" | "kill_switch",
    reason: string | undefined,
    ctx: ToolContext,
  ): Promise<{ previous: RiskLimits; limits: RiskLimits; changed: string[] }>;
}

/** Domain errors of core/risk become InvalidParams with the precise message; nothing else is caught. */
function domain<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (
      err instanceof RiskInputError ||
      err instanceof KellyInputError ||
      err instanceof LinearAlgebraError
    ) {
      throw new ToolError(RpcCode.InvalidParams, err.message);
    }
    throw err;
  }
}

const Return = z.number().finite().gte(-1, "a simple return cannot be below −1 (−100 %)");
const Series = z.array(Return).min(2, "need at least 2 returns").max(100_000);
const Rows = z
  .array(z.array(Return).min(1).max(500))
  .min(2, "need at least 2 rows of returns")
  .max(100_000)
  .superRefine((rows, ctx) => {
    const n = rows[0]?.length ?? 0;
    rows.forEach((row, i) => {
      if (row.length !== n)
        ctx.addIssue({
          code: "custom",
          path: [i],
          message: `row ${i} has ${row.length} returns, row 0 has ${n}`,
        });
    });
  });
const Confidence = z.number().gt(0).lt(1);
const SquareMatrix = z
  .array(z.array(z.number().finite()))
  .min(1)
  .superRefine((rows, ctx) => {
    rows.forEach((row, i) => {
      if (row.length !== rows.length)
        ctx.addIssue({
          code: "custom",
          path: [i],
          message: `row ${i} has ${row.length} entries; the matrix must be ${rows.length}×${rows.length}`,
        });
    });
  });
const Bound = z.union([z.number().finite(), z.array(z.number().finite())]);

const seeded = {
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .default(1)
    .describe("PRNG seed: the same seed gives the same result"),
};

function bounds(value: number | number[] | undefined, fallback: number, n: number, what: string): number[] {
  if (value === undefined) return new Array(n).fill(fallback);
  if (typeof value === "number") return new Array(n).fill(value);
  if (value.length !== n)
    throw new ToolError(RpcCode.InvalidParams, `${what} has ${value.length} entries for ${n} assets`);
  return value;
}

function asMatrix(rows: number[][], what: string): Matrix {
  return domain(() => {
    const m = matrix(rows);
    for (let i = 0; i < m.n; i++)
      for (let j = 0; j < i; j++)
        if (Math.abs((m.data[i * m.n + j] as number) - (m.data[j * m.n + i] as number)) > 1e-12)
          throw new RiskInputError(`${what} is not symmetric at (${i}, ${j})`);
    return m;
  });
}

const LimitsOut = z.object({
  max_position_size: z.number(),
  max_portfolio_risk: z.number(),
  max_correlation: z.number(),
  max_leverage: z.number(),
  kill_switch: z.boolean(),
  risk_confidence: z.number(),
  risk_horizon_days: z.number(),
  fallback_volatility: z.number(),
});
const limitsOut = (l: RiskLimits): z.infer<typeof LimitsOut> => ({
  max_position_size: l.maxPositionSize,
  max_portfolio_risk: l.maxPortfolioRisk,
  max_correlation: l.maxCorrelation,
  max_leverage: l.maxLeverage,
  kill_switch: l.killSwitch,
  risk_confidence: l.riskConfidence,
  risk_horizon_days: l.riskHorizonDays,
  fallback_volatility: l.fallbackVolatility,
});
const snakeOf: Record<keyof RiskLimits, keyof z.infer<typeof LimitsOut>> = {
  maxPositionSize: "max_position_size",
  maxPortfolioRisk: "max_portfolio_risk",
  maxCorrelation: "max_correlation",
  maxLeverage: "max_leverage",
  killSwitch: "kill_switch",
  riskConfidence: "risk_confidence",
  riskHorizonDays: "risk_horizon_days",
  fallbackVolatility: "fallback_volatility",
};

export function riskTools(config: Pick<Config, "KELLY_FRACTION">, control: RiskControl): Tool[] {
  const calculateKelly = defineTool({
    name: "calculate_kelly",
    description:
      "Kelly sizing of a bet: full Kelly f* = p/|loss| − (1−p)/win, the fractional Kelly used (KELLY_FRACTION), and the size after the MAX_POSITION_SIZE cap, with the reason",
    input: z.object({
      win_probability: z.number().min(0).max(1).describe("probability of the winning outcome"),
      win_return: z
        .number()
        .positive()
        .finite()
        .describe("return of a win as a fraction of the stake (1.0 = +100 %)"),
      loss_return: z
        .number()
        .negative()
        .finite()
        .describe("return of a loss as a fraction of the stake (−1.0 = −100 %)"),
      kelly_fraction: z
        .number()
        .gt(0)
        .max(1)
        .optional()
        .describe("fraction of full Kelly to use; default KELLY_FRACTION"),
      equity: z
        .number()
        .positive()
        .finite()
        .optional()
        .describe("account equity, to express the size in money"),
    }),
    output: z.object({
      kelly_fraction: z.number().describe("full Kelly fraction f*"),
      multiplier: z.number(),
      fractional_kelly: z.number(),
      position_size: z
        .number()
        .describe("fraction of equity to put on, after the cap; 0 for a negative edge"),
      max_position_size: z.number(),
      capped_by: z.enum(["max_position_size", "negative_edge"]).nullable(),
      edge: z.number().describe("expected return per unit staked"),
      expected_log_growth: z.number(),
      position_value: z.number().optional(),
      reason: z.string(),
    }),
    handler: (a) => {
      const maxPositionSize = control.limits().maxPositionSize;
      const r = domain(() =>
        kelly({
          winProbability: a.win_probability,
          winReturn: a.win_return,
          lossReturn: a.loss_return,
          multiplier: a.kelly_fraction ?? config.KELLY_FRACTION,
          maxPositionSize,
        }),
      );
      return {
        kelly_fraction: r.fullKelly,
        multiplier: r.multiplier,
        fractional_kelly: r.fractionalKelly,
        position_size: r.positionSize,
        max_position_size: maxPositionSize,
        capped_by: r.cappedBy,
        edge: r.edge,
        expected_log_growth: r.expectedLogGrowth,
        ...(a.equity === undefined ? {} : { position_value: r.positionSize * a.equity }),
        reason: r.reason,
      };
    },
  });

  const calculateVar = defineTool({
    name: "calculate_var",
    description:
      "Value at Risk and CVaR (expected shortfall) of one return series or a weighted portfolio: historical, parametric normal, Cornish-Fisher and Monte Carlo, at a confidence over a horizon",
    input: z
      .object({
        returns: z
          .union([Series, Rows])
          .optional()
          .describe("simple returns per period: one series, or rows × assets"),
        weights: z.array(z.number().finite()).optional().describe("portfolio weights, one per asset column"),
        mean: z
          .number()
          .finite()
          .optional()
          .describe("per-period mean, with volatility instead of returns (parametric normal)"),
        volatility: z
          .number()
          .nonnegative()
          .finite()
          .optional()
          .describe("per-period volatility, instead of returns"),
        method: z.enum([...VarMethods, "all"]).default("all"),
        confidence: Confidence.default(0.95),
        horizon: z.number().positive().max(10_000).default(1).describe("periods"),
        paths: z.number().int().min(100).max(1_000_000).default(10_000),
        ...seeded,
      })
      .superRefine((a, ctx) => {
        if (a.returns === undefined && a.volatility === undefined)
          ctx.addIssue({
            code: "custom",
            path: ["returns"],
            message: "give returns, or a volatility (and mean) for parametric VaR",
          });
        if (a.returns === undefined && a.method !== "parametric_normal" && a.method !== "all")
          ctx.addIssue({ code: "custom", path: ["method"], message: `${a.method} needs returns` });
        if (
          a.returns !== undefined &&
          Array.isArray(a.returns[0]) &&
          (a.returns[0]?.length ?? 0) * a.paths > 50_000_000
        )
          ctx.addIssue({
            code: "custom",
            path: ["paths"],
            message: "paths × assets must stay below 50,000,000",
          });
      }),
    output: z.object({
      confidence: z.number(),
      horizon: z.number(),
      observations: z.number(),
      assets: z.number(),
      mean: z.number(),
      volatility: z.number(),
      skewness: z.number().nullable(),
      excess_kurtosis: z.number().nullable(),
      results: z.array(
        z.object({
          method: z.enum(VarMethods),
          var: z.number(),
          cvar: z.number(),
          paths: z.number().optional(),
        }),
      ),
    }),
    handler: (a) => {
      if (a.returns === undefined) {
        const sigma = a.volatility ?? 0;
        const mean = a.mean ?? 0;
        const r = domain(() => normalVar(mean, sigma, a.confidence, a.horizon));
        return {
          confidence: a.confidence,
          horizon: a.horizon,
          observations: 0,
          assets: 1,
          mean,
          volatility: sigma,
          skewness: null,
          excess_kurtosis: null,
          results: [{ method: "parametric_normal" as const, var: r.var, cvar: r.cvar }],
        };
      }
      const returns = a.returns;
      const methods: readonly VarMethod[] = a.method === "all" ? VarMethods : [a.method];
      const results = methods.map((method) =>
        domain(() =>
          valueAtRisk({
            method,
            returns,
            ...(a.weights === undefined ? {} : { weights: a.weights }),
            confidence: a.confidence,
            horizon: a.horizon,
            paths: a.paths,
            seed: a.seed,
          }),
        ),
      );
      const first = results[0];
      if (first === undefined) throw new ToolError(RpcCode.InvalidParams, "no method");
      return {
        confidence: a.confidence,
        horizon: a.horizon,
        observations: first.observations,
        assets: Array.isArray(returns[0]) ? returns[0].length : 1,
        mean: first.mean,
        volatility: first.volatility,
        skewness: first.skewness,
        excess_kurtosis: first.excessKurtosis,
        results: results.map((r) => ({
          method: r.method,
          var: r.var,
          cvar: r.cvar,
          ...(r.paths === undefined ? {} : { paths: r.paths }),
        })),
      };
    },
  });

  const monteCarlo = defineTool({
    name: "monte_carlo",
    description:
      "Seeded Monte Carlo paths of a buy-and-hold portfolio: correlated GBM through a Cholesky factor (from returns, or mean + covariance) or a block bootstrap of historical rows; terminal-value percentiles and the probability of a drawdown beyond a threshold",
    input: z
      .object({
        model: z.enum(["gbm", "bootstrap"]).default("gbm"),
        returns: Rows.optional().describe("historical simple returns, rows × assets"),
        mean: z.array(z.number().finite()).optional().describe("GBM: per-step mean return of each asset"),
        covariance: SquareMatrix.optional().describe("GBM: per-step covariance of returns"),
        weights: z
          .array(z.number().finite())
          .optional()
          .describe("share of the initial value in each asset (default equal)"),
        initial_value: z.number().positive().finite().default(1),
        steps: z.number().int().min(1).max(10_000).default(20),
        paths: z.number().int().min(1).max(1_000_000).default(10_000),
        block_length: z
          .number()
          .int()
          .min(1)
          .default(1)
          .describe("bootstrap: consecutive rows drawn together"),
        drawdown_threshold: z.number().gt(0).lt(1).default(0.1),
        percentiles: z.array(z.number().min(0).max(100)).min(1).max(101).default([1, 5, 25, 50, 75, 95, 99]),
        ...seeded,
      })
      .superRefine((a, ctx) => {
        if (a.model === "bootstrap" && a.returns === undefined)
          ctx.addIssue({
            code: "custom",
            path: ["returns"],
            message: "the bootstrap needs historical returns",
          });
        if (
          a.model === "gbm" &&
          a.returns === undefined &&
          (a.mean === undefined || a.covariance === undefined)
        )
          ctx.addIssue({
            code: "custom",
            path: ["returns"],
            message: "GBM needs returns, or mean and covariance",
          });
      }),
    output: z.object({
      model: z.enum(["gbm", "bootstrap"]),
      paths: z.number(),
      steps: z.number(),
      seed: z.number(),
      terminal_percentiles: z.array(z.object({ percentile: z.number(), value: z.number() })),
      mean_terminal: z.number(),
      probability_of_loss: z.number(),
      drawdown_threshold: z.number(),
      probability_of_drawdown: z.number(),
      mean_max_drawdown: z.number(),
      max_drawdown_p95: z.number(),
    }),
    handler: (a) => {
      const n = a.returns?.[0]?.length ?? a.mean?.length ?? 0;
      if (
        a.mean !== undefined &&
        a.returns === undefined &&
        a.covariance !== undefined &&
        a.covariance.length !== n
      )
        throw new ToolError(
          RpcCode.InvalidParams,
          `${n} means for a ${a.covariance.length}×${a.covariance.length} covariance`,
        );
      const weights = a.weights ?? new Array(n).fill(1 / n);
      if (weights.length !== n)
        throw new ToolError(RpcCode.InvalidParams, `${weights.length} weights for ${n} assets`);
      if (a.paths * a.steps * n > 100_000_000)
        throw new ToolError(RpcCode.InvalidParams, "paths × steps × assets must stay below 100,000,000");
      const common = {
        weights,
        initialValue: a.initial_value,
        steps: a.steps,
        paths: a.paths,
        seed: a.seed,
        drawdownThreshold: a.drawdown_threshold,
        percentiles: a.percentiles,
      };
      const r = domain(() => {
        if (a.model === "bootstrap") {
          return simulatePaths({
            ...common,
            model: "bootstrap",
            history: a.returns ?? [],
            blockLength: a.block_length,
          });
        }
        const rows = a.returns;
        const mean = rows !== undefined ? Array.from(means(rows, n)) : (a.mean ?? []);
        const cov = rows !== undefined ? covariance(rows, n) : asMatrix(a.covariance ?? [], "covariance");
        return simulatePaths({ ...common, model: "gbm", mean, covariance: cov });
      });
      return {
        model: r.model,
        paths: r.paths,
        steps: r.steps,
        seed: a.seed,
        terminal_percentiles: r.terminal,
        mean_terminal: r.meanTerminal,
        probability_of_loss: r.probabilityOfLoss,
        drawdown_threshold: r.drawdownThreshold,
        probability_of_drawdown: r.probabilityOfDrawdown,
        mean_max_drawdown: r.meanMaxDrawdown,
        max_drawdown_p95: r.maxDrawdownP95,
      };
    },
  });

  const optimize = defineTool({
    name: "optimize_portfolio",
    description:
      "Portfolio weights summing to 1: minimum variance, maximum Sharpe or risk parity, long-only or with per-asset bounds; returns expected return, volatility, Sharpe, risk contributions and the binding bounds",
    input: z
      .object({
        objective: z.enum(Objectives).default("min_variance"),
        assets: z.array(z.string().min(1)).optional().describe("asset names, in column order"),
        returns: Rows.optional().describe(
          "historical returns, rows × assets (estimates mean and covariance)",
        ),
        expected_returns: z.array(z.number().finite()).optional(),
        covariance: SquareMatrix.optional(),
        long_only: z.boolean().default(true).describe("default bounds [0, 1]; false: [−1, 1]"),
        min_weight: Bound.optional().describe("lower bound: one for all assets, or one per asset"),
        max_weight: Bound.optional().describe("upper bound: one for all assets, or one per asset"),
        risk_free_rate: z.number().finite().default(0).describe("per period, like the returns"),
        risk_budget: z
          .array(z.number().positive())
          .optional()
          .describe("risk parity: each asset's share of risk"),
        periods_per_year: z
          .number()
          .positive()
          .optional()
          .describe("annualise the reported return and volatility"),
      })
      .superRefine((a, ctx) => {
        if (a.returns === undefined && a.covariance === undefined)
          ctx.addIssue({
            code: "custom",
            path: ["covariance"],
            message: "give returns, or a covariance (and expected_returns)",
          });
        if (a.objective === "max_sharpe" && a.returns === undefined && a.expected_returns === undefined)
          ctx.addIssue({
            code: "custom",
            path: ["expected_returns"],
            message: "max_sharpe needs expected returns",
          });
      }),
    output: z.object({
      objective: z.enum(Objectives),
      weights: z.array(z.object({ asset: z.string(), weight: z.number() })),
      expected_return: z.number(),
      volatility: z.number(),
      sharpe: z.number(),
      risk_contributions: z.array(z.object({ asset: z.string(), share: z.number() })),
      binding_constraints: z.array(
        z.object({ asset: z.string(), bound: z.enum(["lower", "upper"]), value: z.number() }),
      ),
      iterations: z.number(),
      converged: z.boolean(),
    }),
    handler: (a) => {
      const n = a.returns?.[0]?.length ?? a.covariance?.length ?? 0;
      const cov =
        a.returns !== undefined
          ? domain(() => covariance(a.returns ?? [], n))
          : asMatrix(a.covariance ?? [], "covariance");
      const mean =
        a.expected_returns ?? (a.returns !== undefined ? Array.from(means(a.returns, n)) : undefined);
      if (mean !== undefined && mean.length !== n)
        throw new ToolError(RpcCode.InvalidParams, `${mean.length} expected returns for ${n} assets`);
      const names = a.assets ?? Array.from({ length: n }, (_, i) => `asset_${i}`);
      if (names.length !== n)
        throw new ToolError(RpcCode.InvalidParams, `${names.length} asset names for ${n} assets`);
      const lower = bounds(a.min_weight, a.long_only ? 0 : -1, n, "min_weight");
      const upper = bounds(a.max_weight, 1, n, "max_weight");
      if (a.long_only && lower.some((x) => x < 0))
        throw new ToolError(RpcCode.InvalidParams, "a negative min_weight needs long_only: false");
      const r = domain(() =>
        optimizePortfolio({
          objective: a.objective,
          covariance: cov,
          ...(mean === undefined ? {} : { mean }),
          lower,
          upper,
          riskFree: a.risk_free_rate,
          ...(a.risk_budget === undefined ? {} : { riskBudget: a.risk_budget }),
        }),
      );
      const k = a.periods_per_year ?? 1;
      return {
        objective: r.objective,
        weights: r.weights.map((weight, i) => ({ asset: names[i] ?? String(i), weight })),
        expected_return: r.expectedReturn * k,
        volatility: r.volatility * Math.sqrt(k),
        sharpe: r.sharpe * Math.sqrt(k),
        risk_contributions: r.riskContributions.map((share, i) => ({ asset: names[i] ?? String(i), share })),
        binding_constraints: r.binding.map((b) => ({
          asset: names[b.index] ?? String(b.index),
          bound: b.bound,
          value: b.value,
        })),
        iterations: r.iterations,
        converged: r.converged,
      };
    },
  });

  const Use = z.object({ value: z.number(), limit: z.number(), utilisation: z.number() });
  const metrics = defineTool({
    name: "risk_metrics",
    description:
      "Live risk of an account: exposure, gross and net leverage, per-position and portfolio VaR/CVaR, correlation matrix, drawdown from peak equity, utilisation of every limit and current breaches",
    input: z.object({ account: z.string().min(1).default("default") }),
    output: z.object({
      account: z.string(),
      equity: z.number(),
      peak_equity: z.number(),
      drawdown: z.number(),
      gross_exposure: z.number(),
      net_exposure: z.number(),
      gross_leverage: z.number(),
      net_leverage: z.number().nullable(),
      positions: z.array(
        z.object({
          symbol: z.string(),
          amount: z.number(),
          mark: z.number(),
          notional: z.number(),
          fraction: z.number(),
          volatility: z.number(),
          var: z.number(),
          cvar: z.number(),
          utilisation: z.number(),
        }),
      ),
      portfolio: z.object({
        volatility: z.number(),
        var: z.number(),
        cvar: z.number(),
        confidence: z.number(),
        horizon_days: z.number(),
      }),
      correlation: z.object({ symbols: z.array(z.string()), matrix: z.array(z.array(z.number())) }),
      max_pair_correlation: z
        .object({ value: z.number(), symbols: z.tuple([z.string(), z.string()]) })
        .nullable(),
      limits: LimitsOut,
      utilisation: z.object({
        max_position_size: Use,
        max_portfolio_risk: Use,
        max_correlation: Use,
        max_leverage: Use,
        kill_switch: z.boolean(),
      }),
      breaches: z.array(
        z.object({ check: z.string(), value: z.number(), limit: z.number(), message: z.string() }),
      ),
      updated_at: z.number(),
    }),
    handler: ({ account }) => {
      const m = riskMetrics(control.snapshot(account));
      const finite = (x: number) => (Number.isFinite(x) ? x : null);
      return {
        account: m.account,
        equity: m.equity,
        peak_equity: m.peakEquity,
        drawdown: m.drawdown,
        gross_exposure: m.grossExposure,
        net_exposure: m.netExposure,
        gross_leverage: Number.isFinite(m.grossLeverage) ? m.grossLeverage : Number.MAX_VALUE,
        net_leverage: finite(m.netLeverage),
        positions: m.positions,
        portfolio: { ...m.portfolio, horizon_days: m.portfolio.horizonDays },
        correlation: m.correlation,
        max_pair_correlation: m.maxPairCorrelation,
        limits: limitsOut(m.limits),
        utilisation: {
          max_position_size: m.utilisation.maxPositionSize,
          max_portfolio_risk: m.utilisation.maxPortfolioRisk,
          max_correlation: m.utilisation.maxCorrelation,
          max_leverage: m.utilisation.maxLeverage,
          kill_switch: m.utilisation.killSwitch,
        },
        breaches: m.breaches,
        updated_at: m.updatedAt,
      };
    },
  });

  const preTrade = defineTool({
    name: "pre_trade_check",
    description:
      "Checks an order against MAX_POSITION_SIZE, MAX_PORTFOLIO_RISK, MAX_CORRELATION, MAX_LEVERAGE and the kill switch on the live snapshot; approves or rejects with every reason (the same code the exchange runs in process)",
    input: z.object({
      account: z.string().min(1).default("default"),
      symbol: z.string().min(1),
      side: z.enum(["buy", "sell"]),
      amount: z.number().positive().finite().describe("base amount"),
      price: z.number().positive().finite().optional().describe("limit price; used when there is no mark"),
    }),
    output: z.object({
      approved: z.boolean(),
      reasons: z.array(PreTradeReason),
      price: z.number().nullable(),
      position_fraction: z.number().nullable(),
      leverage: z.number().nullable(),
      portfolio_risk: z.number().nullable(),
      correlation: z.number(),
      snapshot_updated_at: z.number(),
    }),
    handler: (a) => {
      const snapshot = control.snapshot(a.account);
      const r = preTradeCheck(a, snapshot);
      const finite = (x: number) => (Number.isFinite(x) ? x : null);
      return {
        approved: r.approved,
        reasons: r.reasons,
        price: finite(r.price),
        position_fraction: finite(r.positionFraction),
        leverage: finite(r.leverage),
        portfolio_risk: finite(r.portfolioRisk),
        correlation: r.correlation,
        snapshot_updated_at: snapshot.updatedAt,
      };
    },
  });

  const changeOut = z.object({ limits: LimitsOut, previous: LimitsOut, changed: z.array(z.string()) });
  const setLimits = defineTool({
    name: "set_limits",
    description:
      "Changes risk limits at run time (any of them; the rest stay); stored in KV for every replica and the exchange, and recorded as a limits.changed audit event",
    input: z
      .object({
        max_position_size: z.number().gt(0).max(1).optional(),
        max_portfolio_risk: z.number().gt(0).max(1).optional(),
        max_correlation: z.number().gt(0).max(1).optional(),
        max_leverage: z.number().positive().finite().optional(),
        risk_confidence: z.number().gt(0.5).lt(1).optional(),
        risk_horizon_days: z.number().positive().max(365).optional(),
        fallback_volatility: z.number().positive().max(1).optional(),
        reason: z.string().max(500).optional(),
      })
      .strict()
      .refine((a) => Object.keys(a).some((k) => k !== "reason"), {
        message: "give at least one limit to change",
      }),
    output: changeOut,
    handler: async (a, ctx) => {
      const patch: LimitsPatch = {};
      if (a.max_position_size !== undefined) patch.maxPositionSize = a.max_position_size;
      if (a.max_portfolio_risk !== undefined) patch.maxPortfolioRisk = a.max_portfolio_risk;
      if (a.max_correlation !== undefined) patch.maxCorrelation = a.max_correlation;
      if (a.max_leverage !== undefined) patch.maxLeverage = a.max_leverage;
      if (a.risk_confidence !== undefined) patch.riskConfidence = a.risk_confidence;
      if (a.risk_horizon_days !== undefined) patch.riskHorizonDays = a.risk_horizon_days;
      if (a.fallback_volatility !== undefined) patch.fallbackVolatility = a.fallback_volatility;
      const r = await control.changeLimits(patch, "limits", a.reason, ctx);
      return {
        limits: limitsOut(r.limits),
        previous: limitsOut(r.previous),
        changed: r.changed.map((k) => snakeOf[k as keyof RiskLimits] ?? k),
      };
    },
  });

  const killSwitch = defineTool({
    name: "kill_switch",
    description:
      "Turns the kill switch on (every order is rejected) or off; stored in KV and recorded as a kill_switch.changed audit event",
    input: z.object({
      enabled: z.boolean().describe("true stops all trading"),
      reason: z.string().max(500).optional(),
    }),
    output: changeOut.extend({ kill_switch: z.boolean() }),
    handler: async (a, ctx) => {
      const r = await control.changeLimits({ killSwitch: a.enabled }, "kill_switch", a.reason, ctx);
      return {
        kill_switch: r.limits.killSwitch,
        limits: limitsOut(r.limits),
        previous: limitsOut(r.previous),
        changed: r.changed.map((k) => snakeOf[k as keyof RiskLimits] ?? k),
      };
    },
  });

  return [
    calculateKelly,
    calculateVar,
    monteCarlo,
    optimize,
    metrics,
    preTrade,
    setLimits,
    killSwitch,
  ] as Tool[];
}
