import type { Fill, Position } from "../../core/domain/trading.ts";
import { PositionLedger } from "../../core/portfolio/accounting.ts";

/**
 * The exchange's net positions per (account, venue, symbol), computed by the shared fee-aware
 * accounting of core/portfolio/accounting.ts (the risk service's book uses the same module): average
 * cost, realised PnL after fees, fees paid; unrealised PnL at marks when listed with `marked`.
 */
export class PositionBook {
  readonly ledger: PositionLedger;

  constructor(initialCash = 0) {
    this.ledger = new PositionLedger({ initialCash });
  }

  static key(account: string, venue: string, symbol: string): string {
    return PositionLedger.key(account, venue, symbol);
  }

  /** Applies a fill (once per fill id) and returns the position it leaves. */
  apply(fill: Fill): Position {
    const applied = this.ledger.apply(fill);
    return applied ?? (this.ledger.get(fill.account, fill.venue, fill.symbol) as Position);
  }

  list(filter: { account?: string; venue?: string; symbol?: string } = {}): Position[] {
    return this.ledger.list(filter);
  }
}
