import { z } from "zod";
import { sharedBlocks } from "../../../core/compute/blocks.ts";
import { RpcCode } from "../../../core/protocol/jsonrpc.ts";
import { covariance, means } from "../../../core/risk/linalg.ts";
import { simulatePaths } from "../../../core/risk/montecarlo.ts";
import { normalVar, type VarMethod, VarMethods, valueAtRisk } from "../../../core/risk/var.ts";
import { ToolError } from "../../../core/tools/errors.ts";
import { defineTool, type Tool } from "../../../core/tools/tool.ts";
import { asMatrix, Confidence, domain, Rows, SquareMatrix, Series, seeded } from "./shared.ts";
import { Money } from "../../../core/domain/bounds.ts";

/** calculate_var and monte_carlo: stateless, seeded where random. */
export function simulationTools(): Tool[] {
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
          valueAtRisk(
            {
              method,
              returns,
              ...(a.weights === undefined ? {} : { weights: a.weights }),
              confidence: a.confidence,
              horizon: a.horizon,
              paths: a.paths,
              seed: a.seed,
            },
            sharedBlocks,
          ),
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
        initial_value: Money.default(1),
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

  return [calculateVar, monteCarlo];
}
