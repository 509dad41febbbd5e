import { z } from "zod";
import type { Config } from "../../../core/config.ts";
import { kelly } from "../../../core/risk/kelly.ts";
import { defineTool, type Tool } from "../../../core/tools/tool.ts";
import { domain, type RiskControl } from "./shared.ts";
import { bounds, Money } from "../../../core/domain/bounds.ts";

/** calculate_kelly: sizing capped by the MAX_POSITION_SIZE in force. */
export function sizingTools(config: Pick<Config, "KELLY_FRACTION">, control: RiskControl): Tool[] {
  const calculateKelly = defineTool({
    name: "calculate_kelly",
    description:
      "Kelly sizing of a bet: full Kelly f* = p/|loss| − (1−p)/win, the fractional Kelly used (KELLY_FRACTION), and the size after the MAX_POSITION_SIZE cap, with the reason",
    input: z.object({
      win_probability: z.number().min(0).max(1).describe("probability of the winning outcome"),
      win_return: z
        .number()
        .min(bounds.betReturn.min)
        .max(bounds.betReturn.max)
        .describe("return of a win as a fraction of the stake (1.0 = +100 %)"),
      loss_return: z
        .number()
        .min(-bounds.betReturn.max)
        .max(-bounds.betReturn.min)
        .describe("return of a loss as a fraction of the stake (−1.0 = −100 %)"),
      kelly_fraction: z
        .number()
        .gt(0)
        .max(1)
        .optional()
        .describe("fraction of full Kelly to use; default KELLY_FRACTION"),
      equity: Money.optional().describe("account equity, to express the size in money"),
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

  return [calculateKelly];
}
