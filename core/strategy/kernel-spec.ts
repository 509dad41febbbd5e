import { z } from "zod";
import type { KernelSizing, Protections } from "./kernel.ts";

/** The kernel's protections and sizing as data: what a strategy config, a tool call or a backtest names. */
const DAY_MS = 86_400_000;

export const ProtectionsSpec = z
  .object({
    stopLoss: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .describe("exit at this loss from the entry price (0.02 = 2 %)"),
    takeProfit: z.number().gt(0).max(10).optional().describe("exit at this gain from the entry price"),
    trailingStop: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .describe("exit this far below the best close since entry"),
    timeLimitMs: z
      .number()
      .int()
      .min(1_000)
      .max(365 * DAY_MS)
      .optional()
      .describe("exit after holding this long"),
    cooldownMs: z
      .number()
      .int()
      .min(0)
      .max(30 * DAY_MS)
      .optional()
      .describe("no entry this long after a loss"),
    maxDrawdown: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .describe("flatten and lock at this drawdown from the peak"),
  })
  .strict();
export type ProtectionsSpec = z.infer<typeof ProtectionsSpec>;

export const KernelSizingSpec = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("fixed"), fraction: z.number().gt(0).max(1).default(1) }).strict(),
  z
    .object({
      kind: z.literal("kelly"),
      fraction: z.number().gt(0).max(1).default(0.5).describe("used until min_trades trades have closed"),
      minTrades: z.number().int().min(1).max(10_000).default(20),
      window: z.number().int().min(2).max(10_000).default(50),
      multiplier: z.number().gt(0).max(1).default(0.5),
      maxFraction: z.number().gt(0).max(1).default(1),
      floor: z.number().min(0).max(1).default(0.1),
    })
    .strict()
    .refine((s) => s.floor <= s.maxFraction, { message: "floor must be ≤ max_fraction", path: ["floor"] }),
]);
export type KernelSizingSpec = z.infer<typeof KernelSizingSpec>;

export function toProtections(p: ProtectionsSpec): Protections | undefined {
  return Object.values(p).some((v) => v !== undefined) ? p : undefined;
}

export function toSizing(s: KernelSizingSpec): KernelSizing {
  return s;
}
