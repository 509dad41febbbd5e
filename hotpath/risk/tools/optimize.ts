import { z } from "zod";
import { RpcCode } from "../../../core/protocol/jsonrpc.ts";
import { covariance, means } from "../../../core/risk/linalg.ts";
import { Objectives, optimizePortfolio } from "../../../core/risk/optimize.ts";
import { ToolError } from "../../../core/tools/errors.ts";
import { defineTool, type Tool } from "../../../core/tools/tool.ts";
import { asMatrix, Bound, bounds, domain, Rows, SquareMatrix } from "./shared.ts";
import { Rate } from "../../../core/domain/bounds.ts";

/** optimize_portfolio: weights with bounds, naming the binding ones. */
export function optimizeTools(): Tool[] {
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
        risk_free_rate: Rate.default(0).describe("per period, like the returns"),
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

  return [optimize];
}
