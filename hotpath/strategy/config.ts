import { z } from "zod";
import { Timeframe, UnifiedSymbol } from "../../core/domain/market.ts";
import { StrategyId } from "../../core/domain/trading.ts";
import { KernelSizingSpec, ProtectionsSpec } from "../../core/strategy/kernel-spec.ts";
import { StrategySpec } from "../../core/strategy/spec.ts";

export const SymbolArg = UnifiedSymbol;
export const VenueArg = z.string().regex(/^[a-z0-9]+$/, "a venue name such as paper or binance");
export const AccountArg = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 letters, digits, '_' or '-'");

/**
 * One strategy instance as data: a kind of the strategy catalogue (core/strategy/spec.ts) with its
 * params, bound to an account, a venue and symbols, with its own capital, sizing and protections.
 * Several instances may share an account: each trades only its own position (fills carry its id).
 */
export const StrategyConfig = z
  .object({
    id: StrategyId,
    strategy: StrategySpec,
    account: AccountArg.default("default"),
    venue: VenueArg.default("paper"),
    symbols: z.array(SymbolArg).min(1).max(20),
    timeframe: Timeframe.default("1m"),
    /** Quote currency allocated to the instance, split evenly across its symbols. */
    capital: z.number().positive().max(1e12),
    sizing: KernelSizingSpec.default({
      kind: "kelly",
      fraction: 0.5,
      minTrades: 20,
      window: 50,
      multiplier: 0.5,
      maxFraction: 1,
      floor: 0.1,
    }),
    protections: ProtectionsSpec.default({}),
    /** Entries only in these regimes (the model's HMM labels carried by signals). */
    regimes: z.array(z.string().min(1).max(32)).min(1).max(16).optional(),
    /** The venue's lot step: order amounts are rounded down to it. */
    amountStep: z.number().positive().max(1).default(0.000001),
  })
  .strict()
  .refine((c) => new Set(c.symbols).size === c.symbols.length, {
    message: "symbols must be distinct",
    path: ["symbols"],
  });
export type StrategyConfig = z.infer<typeof StrategyConfig>;
export type StrategyConfigInput = z.input<typeof StrategyConfig>;

export const StrategyStatus = z.enum(["running", "paused", "stopped"]);
export type StrategyStatus = z.infer<typeof StrategyStatus>;

/**
 * The default paper strategy `npm start` runs when STRATEGY_DEFAULT is not `off`: an MA crossover on
 * short windows over BTC/USDT (it crosses every few simulated minutes, so it trades from the first
 * minutes), Kelly-sized from its own trades, with a stop loss, a take profit and a drawdown lock.
 */
export const DEFAULT_STRATEGY: StrategyConfigInput = {
  id: "default-paper",
  strategy: { kind: "ma_crossover", fast: 3, slow: 8 },
  account: "default",
  venue: "paper",
  symbols: ["BTC/USDT"],
  capital: 1_500,
  protections: { stopLoss: 0.01, takeProfit: 0.02, maxDrawdown: 0.25 },
};
