import { z } from "zod";
import { PositionWire, positionToWire } from "../../../core/domain/wire.ts";
import { unrealizedPnl } from "../../../core/portfolio/accounting.ts";
import { riskMetrics } from "../../../core/risk/metrics.ts";
import { PreTradeReason, preTradeCheck } from "../../../core/risk/pretrade.ts";
import type { LimitsPatch, RiskLimits } from "../../../core/risk/snapshot.ts";
import { defineTool, type Tool } from "../../../core/tools/tool.ts";
import { LimitsOut, limitsOut, type RiskControl, snakeOf } from "./shared.ts";
import { Amount, FractionLimit, Leverage, Price } from "../../../core/domain/bounds.ts";

/** risk_metrics, pre_trade_check, set_limits and kill_switch: the tools over the live state. */
export function liveTools(control: RiskControl): Tool[] {
  /** A figure relative to equity: null when equity is not positive (then it has no meaning). */
  const Rel = z.number().nullable();
  const rel = (x: number) => (Number.isFinite(x) ? x : null);
  const Use = z.object({ value: Rel, limit: z.number(), utilisation: Rel });
  const use = (u: { value: number; limit: number; utilisation: number }) => ({
    value: rel(u.value),
    limit: u.limit,
    utilisation: rel(u.utilisation),
  });
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
      gross_leverage: Rel,
      net_leverage: Rel,
      positions: z.array(
        z.object({
          symbol: z.string(),
          amount: z.number(),
          mark: z.number(),
          notional: z.number(),
          fraction: Rel,
          volatility: z.number(),
          var: Rel,
          cvar: Rel,
          utilisation: Rel,
          realized_pnl: z
            .number()
            .optional()
            .describe("realised PnL after fees over the symbol's book positions (quote)"),
          unrealized_pnl: z
            .number()
            .optional()
            .describe("amount × (mark − average cost) over the symbol's book positions (quote)"),
        }),
      ),
      portfolio: z.object({
        volatility: Rel,
        var: Rel,
        cvar: Rel,
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
      book: z
        .object({ cash: z.number(), positions: z.array(PositionWire) })
        .optional()
        .describe(
          "cash (quote) and per-venue positions: average price, realised PnL after fees, fees, unrealised PnL at the mark",
        ),
    }),
    handler: ({ account }) => {
      const m = riskMetrics(control.snapshot(account));
      const raw = control.book?.(account);
      const markOf = new Map(m.positions.map((p) => [p.symbol, p.mark]));
      const book =
        raw === undefined
          ? undefined
          : {
              cash: raw.cash,
              positions: raw.positions.map((p) => {
                const mark = markOf.get(p.symbol);
                return positionToWire(
                  mark === undefined ? p : { ...p, unrealizedPnl: unrealizedPnl(p, mark) },
                );
              }),
            };
      const pnlOf = (symbol: string) => {
        if (book === undefined) return {};
        const rows = book.positions.filter((p) => p.symbol === symbol);
        return {
          realized_pnl: rows.reduce((a, p) => a + p.realized_pnl, 0),
          unrealized_pnl: rows.reduce((a, p) => a + (p.unrealized_pnl ?? 0), 0),
        };
      };
      return {
        account: m.account,
        equity: m.equity,
        peak_equity: m.peakEquity,
        drawdown: m.drawdown,
        gross_exposure: m.grossExposure,
        net_exposure: m.netExposure,
        gross_leverage: rel(m.grossLeverage),
        net_leverage: rel(m.netLeverage),
        positions: m.positions.map((p) => ({
          ...p,
          fraction: rel(p.fraction),
          var: rel(p.var),
          cvar: rel(p.cvar),
          utilisation: rel(p.utilisation),
          ...pnlOf(p.symbol),
        })),
        portfolio: {
          volatility: rel(m.portfolio.volatility),
          var: rel(m.portfolio.var),
          cvar: rel(m.portfolio.cvar),
          confidence: m.portfolio.confidence,
          horizon_days: m.portfolio.horizonDays,
        },
        correlation: m.correlation,
        max_pair_correlation: m.maxPairCorrelation,
        limits: limitsOut(m.limits),
        utilisation: {
          max_position_size: use(m.utilisation.maxPositionSize),
          max_portfolio_risk: use(m.utilisation.maxPortfolioRisk),
          max_correlation: use(m.utilisation.maxCorrelation),
          max_leverage: use(m.utilisation.maxLeverage),
          kill_switch: m.utilisation.killSwitch,
        },
        breaches: m.breaches,
        updated_at: m.updatedAt,
        ...(book !== undefined ? { book } : {}),
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
      amount: Amount.describe("base amount"),
      price: Price.optional().describe("limit price; used when there is no mark"),
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
        position_fraction: finite(r.position_fraction),
        leverage: finite(r.leverage),
        portfolio_risk: finite(r.portfolio_risk),
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
        max_position_size: FractionLimit.optional(),
        max_portfolio_risk: FractionLimit.optional(),
        max_correlation: FractionLimit.optional(),
        max_leverage: Leverage.optional(),
        risk_confidence: z.number().gt(0.5).lt(1).optional(),
        risk_horizon_days: z.number().min(0.001).max(365).optional(),
        fallback_volatility: FractionLimit.optional(),
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
    input: z
      .object({
        enabled: z.boolean().describe("true stops all trading"),
        reason: z.string().max(500).optional(),
      })
      .strict(),
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

  return [metrics, preTrade, setLimits, killSwitch];
}
