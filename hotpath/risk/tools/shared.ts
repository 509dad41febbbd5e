import { z } from "zod";
import { RpcCode } from "../../../core/protocol/jsonrpc.ts";
import { KellyInputError } from "../../../core/risk/kelly.ts";
import { LinearAlgebraError, type Matrix, matrix } from "../../../core/risk/linalg.ts";
import type { LimitsPatch, RiskLimits, RiskSnapshot } from "../../../core/risk/snapshot.ts";
import { RiskInputError } from "../../../core/risk/var.ts";
import { ToolError } from "../../../core/tools/errors.ts";
import type { ToolContext } from "../../../core/tools/tool.ts";
import type { Position } from "../../../core/domain/trading.ts";

// What the risk tools share: the service's control surface, input schemas and error mapping.

/** What the stateful tools need from the running service (see runtime.ts). */
export interface RiskControl {
  limits(): RiskLimits;
  snapshot(account: string): RiskSnapshot;
  /** Cash and per-venue positions of the book (core/portfolio/accounting.ts), when the service has one. */
  book?(account: string): { cash: number; positions: Position[] };
  /** Applies a change of limits, stores it and audits it; resolves once the audit event is stored. */
  changeLimits(
    patch: LimitsPatch,
    kind: "limits" | "kill_switch",
    reason: string | undefined,
    ctx: ToolContext,
  ): Promise<{ previous: RiskLimits; limits: RiskLimits; changed: string[] }>;
}

/** Domain errors of core/risk become InvalidParams with the precise message; nothing else is caught. */
export function domain<T>(fn: () => T): T {
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

export const Return = z.number().finite().gte(-1, "a simple return cannot be below −1 (−100 %)");
export const Series = z.array(Return).min(2, "need at least 2 returns").max(100_000);
export const Rows = z
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
export const Confidence = z.number().gt(0).lt(1);
export const SquareMatrix = z
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
export const Bound = z.union([z.number().finite(), z.array(z.number().finite())]);

export const seeded = {
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .default(1)
    .describe("PRNG seed: the same seed gives the same result"),
};

export function bounds(
  value: number | number[] | undefined,
  fallback: number,
  n: number,
  what: string,
): number[] {
  if (value === undefined) return new Array(n).fill(fallback);
  if (typeof value === "number") return new Array(n).fill(value);
  if (value.length !== n)
    throw new ToolError(RpcCode.InvalidParams, `${what} has ${value.length} entries for ${n} assets`);
  return value;
}

export function asMatrix(rows: number[][], what: string): Matrix {
  return domain(() => {
    const m = matrix(rows);
    for (let i = 0; i < m.n; i++)
      for (let j = 0; j < i; j++)
        if (Math.abs((m.data[i * m.n + j] as number) - (m.data[j * m.n + i] as number)) > 1e-12)
          throw new RiskInputError(`${what} is not symmetric at (${i}, ${j})`);
    return m;
  });
}

export const LimitsOut = z.object({
  max_position_size: z.number(),
  max_portfolio_risk: z.number(),
  max_correlation: z.number(),
  max_leverage: z.number(),
  kill_switch: z.boolean(),
  risk_confidence: z.number(),
  risk_horizon_days: z.number(),
  fallback_volatility: z.number(),
});
export const limitsOut = (l: RiskLimits): z.infer<typeof LimitsOut> => ({
  max_position_size: l.maxPositionSize,
  max_portfolio_risk: l.maxPortfolioRisk,
  max_correlation: l.maxCorrelation,
  max_leverage: l.maxLeverage,
  kill_switch: l.killSwitch,
  risk_confidence: l.riskConfidence,
  risk_horizon_days: l.riskHorizonDays,
  fallback_volatility: l.fallbackVolatility,
});
export const snakeOf: Record<keyof RiskLimits, keyof z.infer<typeof LimitsOut>> = {
  maxPositionSize: "max_position_size",
  maxPortfolioRisk: "max_portfolio_risk",
  maxCorrelation: "max_correlation",
  maxLeverage: "max_leverage",
  killSwitch: "kill_switch",
  riskConfidence: "risk_confidence",
  riskHorizonDays: "risk_horizon_days",
  fallbackVolatility: "fallback_volatility",
};
