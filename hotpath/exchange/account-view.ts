import { STABLECOINS } from "../../core/domain/currencies.ts";
import type { RiskPosition } from "../../core/risk/snapshot.ts";
import type { PositionBook } from "./positions.ts";
import type { PriceCache } from "./price-cache.ts";
import type { Balance, Venue } from "../../core/ports/venue.ts";

const DEFAULT_STABLE: ReadonlySet<string> = new Set(STABLECOINS);

/**
 * The exchange's own view of an account, for the local pre-trade snapshot: the latest price of each
 * symbol (any venue), balances per venue valued in the quote currency, and positions at their marks.
 * Currencies in `stablecoins` (default: the catalogue of core/domain/currencies.ts) count at par; others
 * at their `<CCY>/USDT` price when one is known.
 */
export function accountView(input: {
  account: string;
  venues: ReadonlyMap<string, Venue>;
  fetched: ReadonlyMap<string, Record<string, Balance>>;
  prices: PriceCache;
  positions: PositionBook;
  stablecoins?: readonly string[];
}): { equity: number; positions: Record<string, RiskPosition>; marks: Record<string, number> } {
  const stable = input.stablecoins === undefined ? DEFAULT_STABLE : new Set(input.stablecoins);
  // The balances of each venue: its own view where it keeps one (paper), else the last fetched; summed
  // in the order of a copy of `fetched` the venues' views were set into (no copy made).
  let equity = 0;
  for (const [name, fetched] of input.fetched) {
    equity = valued(equity, name, input.venues.get(name)?.balancesNow?.() ?? fetched, stable, input.prices);
  }
  for (const [name, venue] of input.venues) {
    if (input.fetched.has(name)) continue;
    const now = venue.balancesNow?.();
    if (now !== undefined) equity = valued(equity, name, now, stable, input.prices);
  }
  const positions: Record<string, RiskPosition> = {};
  for (const p of input.positions.list({ account: input.account })) {
    const mark = input.prices.get(p.venue, p.symbol) ?? p.averagePrice;
    if (p.amount === 0 || !(mark > 0)) continue;
    const prev = positions[p.symbol];
    positions[p.symbol] = { amount: (prev?.amount ?? 0) + p.amount, mark };
  }
  return { equity, positions, marks: input.prices.marks() };
}

/** `equity` plus one venue's balances, currency by currency (stablecoins at par, others at `<CCY>/USDT`). */
function valued(
  equity: number,
  venueName: string,
  balances: Record<string, Balance>,
  stable: ReadonlySet<string>,
  prices: PriceCache,
): number {
  let sum = equity;
  for (const ccy in balances) {
    const b = balances[ccy] as Balance;
    if (stable.has(ccy)) sum += b.total;
    else {
      const p = prices.get(venueName, `${ccy}/USDT`);
      if (p !== undefined) sum += b.total * p;
    }
  }
  return sum;
}
