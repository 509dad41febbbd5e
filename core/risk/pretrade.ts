import { z } from "zod";
import { normalQuantile } from "./normal.ts";
import type { RiskSnapshot } from "./snapshot.ts";

/**
 * The pre-trade check: one order against the limits of a risk snapshot. Pure and allocation-light, so
 * the exchange runs it in process on every order.
 *
 * Every check values positions at the snapshot's mark (the position's own mark, else `marks`, else the
 * order's limit price). A limit rejects an order only when the post-trade value exceeds it AND the order
 * makes that value worse, so an order that reduces risk always passes every limit but the kill switch.
 *
 * - maxPositionSize: |post-trade position notional| / equity.
 * - maxLeverage: post-trade gross exposure / equity.
 * - maxPortfolioRisk: post-trade parametric normal VaR / equity at `riskConfidence` over
 *   `riskHorizonDays`: z·√(vᵀCv)·√h, where vᵢ = notionalᵢ/equity·σᵢ. A symbol without a volatility
 *   estimate uses `fallbackVolatility`; a pair without a correlation is assumed to move together
 *   against us (ρ = sign(vᵢ)·sign(vⱼ)).
 * - maxCorrelation: when an order grows |position|, the largest ρ·sign(post)·sign(other) with any other
 *   open position (a hedge does not count; a pair without a known correlation does not count).
 * - killSwitch: rejects everything.
 *
 * A snapshot is treated as immutable: the first check against a snapshot object prepares (and caches)
 * its aggregates; build a new snapshot object for new state, never mutate one that has been checked.
 */

/** What the check needs of an order; `OrderRequest` from core/domain/trading.ts fits. */
export interface PreTradeOrder {
  readonly symbol: string;
  readonly side: "buy" | "sell";
  /** Base amount, > 0. */
  readonly amount: number;
  /** Limit price; used only when the snapshot has no mark for the symbol. */
  readonly price?: number | undefined;
}

export const PreTradeOrder = z.object({
  symbol: z.string().min(1),
  side: z.enum(["buy", "sell"]),
  amount: z.number().positive().finite(),
  price: z.number().positive().finite().optional(),
});

export const LimitName = z.enum([
  "killSwitch",
  "equity",
  "price",
  "maxPositionSize",
  "maxLeverage",
  "maxPortfolioRisk",
  "maxCorrelation",
]);
export type LimitName = z.infer<typeof LimitName>;

/** Why an order is rejected: which limit, the post-trade value and the limit. */
export const PreTradeReason = z.object({
  check: LimitName,
  value: z.number(),
  limit: z.number(),
  message: z.string(),
  /** For maxCorrelation: the open position's symbol. */
  with: z.string().optional(),
});
export type PreTradeReason = z.infer<typeof PreTradeReason>;

export const PreTradeResult = z.object({
  approved: z.boolean(),
  /** Every limit the order breaks, in check order; empty when approved. */
  reasons: z.array(PreTradeReason),
  /** The valuation price used (NaN when there was none). */
  price: z.number(),
  /** Post-trade |position| / equity. */
  position_fraction: z.number(),
  /** Post-trade gross exposure / equity. */
  leverage: z.number(),
  /** Post-trade portfolio VaR / equity. */
  portfolio_risk: z.number(),
  /** Largest direction-adjusted correlation of the grown position with another (0 when none). */
  correlation: z.number(),
});
export type PreTradeResult = z.infer<typeof PreTradeResult>;

/** The aggregates of a snapshot the check reuses across orders. */
interface Prepared {
  readonly symbols: string[];
  readonly amounts: Float64Array;
  readonly marks: Float64Array;
  /** notional / equity · σ */
  readonly v: Float64Array;
  /** Row index in the snapshot's correlation matrix, −1 when absent. */
  readonly matrixRow: Int32Array;
  readonly index: Map<string, number>;
  readonly matrixIndex: Map<string, number>;
  readonly gross: number;
  readonly variance: number;
  readonly zScaled: number;
}

const cache = new WeakMap<RiskSnapshot, Prepared>();
const EPS = 1e-12;

function sign(x: number): number {
  return x > 0 ? 1 : x < 0 ? -1 : 0;
}

function volatilityOf(snapshot: RiskSnapshot, symbol: string): number {
  return snapshot.volatility[symbol] ?? snapshot.limits.fallbackVolatility;
}

function prepare(snapshot: RiskSnapshot): Prepared {
  const symbols = Object.keys(snapshot.positions);
  const n = symbols.length;
  const amounts = new Float64Array(n);
  const marks = new Float64Array(n);
  const v = new Float64Array(n);
  const matrixRow = new Int32Array(n);
  const index = new Map<string, number>();
  const matrixIndex = new Map<string, number>();
  snapshot.symbols.forEach((s, i) => {
    matrixIndex.set(s, i);
  });
  let gross = 0;
  for (let i = 0; i < n; i++) {
    const symbol = symbols[i] as string;
    const position = snapshot.positions[symbol];
    if (position === undefined) continue;
    index.set(symbol, i);
    amounts[i] = position.amount;
    marks[i] = position.mark;
    const notional = position.amount * position.mark;
    gross += Math.abs(notional);
    v[i] = snapshot.equity > 0 ? (notional / snapshot.equity) * volatilityOf(snapshot, symbol) : 0;
    matrixRow[i] = matrixIndex.get(symbol) ?? -1;
  }
  let variance = 0;
  for (let i = 0; i < n; i++) {
    const vi = v[i] as number;
    variance += vi * vi;
    for (let j = 0; j < i; j++) {
      variance += 2 * vi * (v[j] as number) * pairCorrelation(snapshot, matrixRow, i, j, sign(vi), v);
    }
  }
  const { riskConfidence, riskHorizonDays } = snapshot.limits;
  const zScaled = normalQuantile(riskConfidence) * Math.sqrt(riskHorizonDays);
  return { symbols, amounts, marks, v, matrixRow, index, matrixIndex, gross, variance, zScaled };
}

/** ρ between position i (with the given direction) and position j; unknown pairs move together against us. */
function pairCorrelation(
  snapshot: RiskSnapshot,
  matrixRow: Int32Array,
  i: number,
  j: number,
  directionI: number,
  v: Float64Array,
): number {
  const ri = matrixRow[i] as number;
  const rj = matrixRow[j] as number;
  if (ri >= 0 && rj >= 0) return snapshot.correlation[ri]?.[rj] ?? 0;
  return directionI * sign(v[j] as number);
}

/** Checks one order against a snapshot. Never throws for a well-formed order; never mutates the snapshot. */
export function preTradeCheck(order: PreTradeOrder, snapshot: RiskSnapshot): PreTradeResult {
  let p = cache.get(snapshot);
  if (p === undefined) {
    p = prepare(snapshot);
    cache.set(snapshot, p);
  }
  const limits = snapshot.limits;
  const equity = snapshot.equity;
  const symbol = order.symbol;
  const k = p.index.get(symbol) ?? -1;
  const mark = k >= 0 ? (p.marks[k] as number) : (snapshot.marks[symbol] ?? order.price ?? Number.NaN);
  const a0 = k >= 0 ? (p.amounts[k] as number) : 0;
  const a1 = a0 + (order.side === "buy" ? order.amount : -order.amount);

  let reasons: PreTradeReason[] | undefined;

  if (limits.killSwitch) {
    reasons = push(reasons, {
      check: "killSwitch",
      value: 1,
      limit: 0,
      message: "kill switch is on: every order is rejected",
    });
  }
  if (!(equity > 0)) {
    reasons = push(reasons, {
      check: "equity",
      value: equity,
      limit: 0,
      message: `equity is ${equity}: nothing can be sized`,
    });
  }
  if (!(mark > 0)) {
    reasons = push(reasons, {
      check: "price",
      value: Number.isNaN(mark) ? 0 : mark,
      limit: 0,
      message: `no mark price for ${symbol}`,
    });
  }
  if (reasons !== undefined && (!(equity > 0) || !(mark > 0))) {
    return result(false, reasons, mark, Number.NaN, Number.NaN, Number.NaN, 0);
  }

  // Position size.
  const pre = (Math.abs(a0) * mark) / equity;
  const post = (Math.abs(a1) * mark) / equity;
  if (post > limits.maxPositionSize + EPS && post > pre + EPS) {
    reasons = push(reasons, {
      check: "maxPositionSize",
      value: post,
      limit: limits.maxPositionSize,
      message: `${symbol} position would be ${pct(post)} of equity, above the ${pct(limits.maxPositionSize)} limit`,
    });
  }

  // Leverage.
  const grossPre = p.gross / equity;
  const grossPost = (p.gross - Math.abs(a0 * mark) + Math.abs(a1 * mark)) / equity;
  if (grossPost > limits.maxLeverage + EPS && grossPost > grossPre + EPS) {
    reasons = push(reasons, {
      check: "maxLeverage",
      value: grossPost,
      limit: limits.maxLeverage,
      message: `gross leverage would be ${grossPost.toFixed(3)}x, above the ${limits.maxLeverage}x limit`,
    });
  }

  // Portfolio VaR (incremental: only the order's symbol changes) and correlation, in one pass.
  const sigma = volatilityOf(snapshot, symbol);
  const v0 = (a0 * mark * sigma) / equity;
  const v1 = (a1 * mark * sigma) / equity;
  const s0 = sign(v0);
  const s1 = sign(v1);
  const row = p.matrixIndex.get(symbol) ?? -1;
  const rowValues = row >= 0 ? snapshot.correlation[row] : undefined;
  const grows = Math.abs(a1) > Math.abs(a0);
  let r0 = 0;
  let r1 = 0;
  let worst = 0;
  let worstWith = -1;
  const n = p.symbols.length;
  for (let j = 0; j < n; j++) {
    if (j === k) continue;
    const vj = p.v[j] as number;
    const mj = p.matrixRow[j] as number;
    if (rowValues !== undefined && mj >= 0) {
      const rho = rowValues[mj] ?? 0;
      r0 += rho * vj;
      r1 += rho * vj;
      if (grows) {
        const effective = rho * s1 * sign(p.amounts[j] as number);
        if (effective > worst) {
          worst = effective;
          worstWith = j;
        }
      }
    } else {
      const sj = sign(vj);
      r0 += s0 * sj * vj;
      r1 += s1 * sj * vj;
    }
  }
  const rest = p.variance - 2 * v0 * r0 - v0 * v0;
  const varPost = Math.max(0, rest + 2 * v1 * r1 + v1 * v1);
  const riskPre = p.zScaled * Math.sqrt(Math.max(0, p.variance));
  const riskPost = p.zScaled * Math.sqrt(varPost);
  if (riskPost > limits.maxPortfolioRisk + EPS && riskPost > riskPre + EPS) {
    reasons = push(reasons, {
      check: "maxPortfolioRisk",
      value: riskPost,
      limit: limits.maxPortfolioRisk,
      message: `portfolio VaR would be ${pct(riskPost)} of equity, above the ${pct(limits.maxPortfolioRisk)} limit`,
    });
  }
  if (worst > limits.maxCorrelation + EPS) {
    const other = p.symbols[worstWith] as string;
    reasons = push(reasons, {
      check: "maxCorrelation",
      value: worst,
      limit: limits.maxCorrelation,
      with: other,
      message: `${symbol} moves with the open ${other} position (ρ=${worst.toFixed(3)}), above the ${limits.maxCorrelation} limit`,
    });
  }
  return result(reasons === undefined, reasons ?? [], mark, post, grossPost, riskPost, worst);
}

function result(
  approved: boolean,
  reasons: PreTradeReason[],
  price: number,
  position_fraction: number,
  leverage: number,
  portfolio_risk: number,
  correlation: number,
): PreTradeResult {
  return {
    approved,
    reasons,
    price,
    position_fraction,
    leverage,
    portfolio_risk,
    correlation,
  };
}

/** Appends to the reasons, creating the array on the first one (approvals allocate none). */
function push(reasons: PreTradeReason[] | undefined, reason: PreTradeReason): PreTradeReason[] {
  if (reasons === undefined) return [reason];
  reasons.push(reason);
  return reasons;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}
