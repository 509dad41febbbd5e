import { normalPdf, normalQuantile } from "./normal.ts";
import type { LimitName } from "./pretrade.ts";
import type { RiskLimits, RiskSnapshot } from "./snapshot.ts";

/**
 * Live risk of one account from its snapshot: exposure, leverage, per-position and portfolio VaR,
 * correlations, drawdown from peak, and how much of every limit is used. Uses the same conventions as
 * the pre-trade check (parametric normal VaR at the limits' confidence and horizon; unknown
 * volatilities at `fallbackVolatility`; unknown correlations as moving together against the book), so
 * a portfolio the check lets through never shows up here as a breach it caused.
 */
export interface PositionRisk {
  symbol: string;
  amount: number;
  mark: number;
  notional: number;
  /** Notional / equity (signed). */
  fraction: number;
  volatility: number;
  /** Stand-alone VaR and CVaR as fractions of equity. */
  var: number;
  cvar: number;
  /** |fraction| / maxPositionSize. */
  utilisation: number;
}

export interface LimitUse {
  value: number;
  limit: number;
  /** value / limit (1 = at the limit). */
  utilisation: number;
}

export interface RiskBreach {
  check: Exclude<LimitName, "killSwitch" | "price">;
  value: number;
  limit: number;
  message: string;
}

export interface RiskMetrics {
  account: string;
  equity: number;
  peakEquity: number;
  /** 1 − equity / peak, ≥ 0. */
  drawdown: number;
  grossExposure: number;
  netExposure: number;
  grossLeverage: number;
  netLeverage: number;
  positions: PositionRisk[];
  portfolio: { volatility: number; var: number; cvar: number; confidence: number; horizonDays: number };
  correlation: { symbols: string[]; matrix: number[][] };
  /** The most correlated pair of open positions, direction-adjusted (a hedge is negative). */
  maxPairCorrelation: { value: number; symbols: [string, string] } | null;
  limits: RiskLimits;
  utilisation: {
    maxPositionSize: LimitUse;
    maxPortfolioRisk: LimitUse;
    maxCorrelation: LimitUse;
    maxLeverage: LimitUse;
    killSwitch: boolean;
  };
  /** Limits the current book exceeds. */
  breaches: RiskBreach[];
  updatedAt: number;
}

const sign = (x: number) => (x > 0 ? 1 : x < 0 ? -1 : 0);
const use = (value: number, limit: number): LimitUse => ({ value, limit, utilisation: value / limit });

export function riskMetrics(snapshot: RiskSnapshot): RiskMetrics {
  const { limits, equity } = snapshot;
  const z = normalQuantile(limits.riskConfidence);
  const sqrtH = Math.sqrt(limits.riskHorizonDays);
  const tailFactor = normalPdf(z) / (1 - limits.riskConfidence);
  const index = new Map(snapshot.symbols.map((s, i) => [s, i]));
  const symbols = Object.keys(snapshot.positions);
  const positions: PositionRisk[] = [];
  let gross = 0;
  let net = 0;
  const v: number[] = [];
  for (const symbol of symbols) {
    const p = snapshot.positions[symbol];
    if (p === undefined) continue;
    const notional = p.amount * p.mark;
    gross += Math.abs(notional);
    net += notional;
    const fraction = equity > 0 ? notional / equity : Number.NaN;
    const volatility = snapshot.volatility[symbol] ?? limits.fallbackVolatility;
    v.push(fraction * volatility);
    positions.push({
      symbol,
      amount: p.amount,
      mark: p.mark,
      notional,
      fraction,
      volatility,
      var: z * Math.abs(fraction) * volatility * sqrtH,
      cvar: tailFactor * Math.abs(fraction) * volatility * sqrtH,
      utilisation: Math.abs(fraction) / limits.maxPositionSize,
    });
  }
  let variance = 0;
  let maxPair: RiskMetrics["maxPairCorrelation"] = null;
  for (let i = 0; i < positions.length; i++) {
    const a = positions[i] as PositionRisk;
    const ia = index.get(a.symbol);
    for (let j = 0; j < positions.length; j++) {
      const b = positions[j] as PositionRisk;
      const ib = index.get(b.symbol);
      let rho: number;
      if (i === j) rho = 1;
      else if (ia !== undefined && ib !== undefined) {
        rho = snapshot.correlation[ia]?.[ib] ?? 0;
        const effective = rho * sign(a.amount) * sign(b.amount);
        if (j > i && a.amount !== 0 && b.amount !== 0 && (maxPair === null || effective > maxPair.value)) {
          maxPair = { value: effective, symbols: [a.symbol, b.symbol] };
        }
      } else rho = sign(v[i] as number) * sign(v[j] as number);
      variance += (v[i] as number) * (v[j] as number) * rho;
    }
  }
  const sigma = Math.sqrt(Math.max(0, variance));
  const portfolioVar = z * sigma * sqrtH;
  const largest = positions.reduce((m, p) => Math.max(m, Math.abs(p.fraction)), 0);
  const grossLeverage = equity > 0 ? gross / equity : Number.POSITIVE_INFINITY;
  const correlationValue = maxPair?.value ?? 0;

  const breaches: RiskBreach[] = [];
  // With no positive equity the ratios mean nothing: the one breach is the equity itself.
  if (!(equity > 0))
    breaches.push({ check: "equity", value: equity, limit: 0, message: `equity is ${equity}` });
  if (equity > 0 && largest > limits.maxPositionSize) {
    const worst = positions.reduce((m, p) => (Math.abs(p.fraction) > Math.abs(m.fraction) ? p : m));
    breaches.push({
      check: "maxPositionSize",
      value: largest,
      limit: limits.maxPositionSize,
      message: `${worst.symbol} is ${pct(largest)} of equity, above the ${pct(limits.maxPositionSize)} limit`,
    });
  }
  if (equity > 0 && portfolioVar > limits.maxPortfolioRisk) {
    breaches.push({
      check: "maxPortfolioRisk",
      value: portfolioVar,
      limit: limits.maxPortfolioRisk,
      message: `portfolio VaR is ${pct(portfolioVar)} of equity, above the ${pct(limits.maxPortfolioRisk)} limit`,
    });
  }
  if (equity > 0 && maxPair !== null && maxPair.value > limits.maxCorrelation) {
    breaches.push({
      check: "maxCorrelation",
      value: maxPair.value,
      limit: limits.maxCorrelation,
      message: `${maxPair.symbols[0]} and ${maxPair.symbols[1]} move together (ρ=${maxPair.value.toFixed(3)}), above the ${limits.maxCorrelation} limit`,
    });
  }
  if (equity > 0 && grossLeverage > limits.maxLeverage) {
    breaches.push({
      check: "maxLeverage",
      value: grossLeverage,
      limit: limits.maxLeverage,
      message: `gross leverage is ${grossLeverage.toFixed(3)}x, above the ${limits.maxLeverage}x limit`,
    });
  }
  return {
    account: snapshot.account,
    equity,
    peakEquity: snapshot.peakEquity,
    drawdown: snapshot.peakEquity > 0 ? Math.max(0, 1 - equity / snapshot.peakEquity) : 0,
    grossExposure: gross,
    netExposure: net,
    grossLeverage,
    netLeverage: equity > 0 ? net / equity : Number.NaN,
    positions,
    portfolio: {
      volatility: sigma,
      var: portfolioVar,
      cvar: tailFactor * sigma * sqrtH,
      confidence: limits.riskConfidence,
      horizonDays: limits.riskHorizonDays,
    },
    correlation: { symbols: [...snapshot.symbols], matrix: snapshot.correlation.map((r) => [...r]) },
    maxPairCorrelation: maxPair,
    limits,
    utilisation: {
      maxPositionSize: use(largest, limits.maxPositionSize),
      maxPortfolioRisk: use(portfolioVar, limits.maxPortfolioRisk),
      maxCorrelation: use(Math.max(0, correlationValue), limits.maxCorrelation),
      maxLeverage: use(grossLeverage, limits.maxLeverage),
      killSwitch: limits.killSwitch,
    },
    breaches,
    updatedAt: snapshot.updatedAt,
  };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}
