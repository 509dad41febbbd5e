import { STABLECOINS } from "../../core/domain/currencies.ts";
import type { RiskPosition } from "../../core/risk/snapshot.ts";
import type { PositionBook } from "./positions.ts";
import type { PriceCache } from "./price-cache.ts";
import type { Balance, Venue } from "../../core/ports/venue.ts";

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
  const stable = new Set(input.stablecoins ?? STABLECOINS);
  const all = new Map(input.fetched);
  for (const [name, venue] of input.venues) {
    const now = venue.balancesNow?.();
    if (now !== undefined) all.set(name, now);
  }
  let equity = 0;
  for (const [venueName, balances] of all) {
    for (const [ccy, b] of Object.entries(balances)) {
      if (stable.has(ccy)) equity += b.total;
      else {
        const p = input.prices.get(venueName, `${ccy}/USDT`);
        if (p !== undefined) equity += b.total * p;
      }
    }
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
