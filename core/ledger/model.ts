import type { Fill, Order } from "../domain/trading.ts";

/**
 * The trade ledger's rows: what the projection (core/ledger/projection.ts) writes and the store's SQL
 * tables hold, column for column (snake_case). Amounts are in base currency, prices and money in quote
 * currency, times in integer UTC milliseconds. A missing strategy is the empty string in keys.
 */

/** One trade event as the ledger takes it in: the envelope's id (the idempotency key) and its data. */
export type LedgerEvent =
  | {
      readonly kind: "order";
      readonly id: string;
      readonly seq: number;
      readonly type: string;
      readonly time: number;
      readonly data: Order;
    }
  | {
      readonly kind: "fill";
      readonly id: string;
      readonly seq: number;
      readonly type: string;
      readonly time: number;
      readonly data: Fill;
    }
  | {
      readonly kind: "other";
      readonly id: string;
      readonly seq: number;
      readonly type: string;
      readonly time: number;
    };

/** The inbox: every event id applied, so a replay or a redelivery changes nothing. */
export interface EventRow {
  id: string;
  seq: number;
  type: string;
  time: number;
}

export interface OrderRow {
  id: string;
  event_id: string;
  client_order_id: string;
  account: string;
  venue: string;
  symbol: string;
  strategy_id: string;
  side: string;
  type: string;
  amount: number;
  price: number | null;
  stop_price: number | null;
  status: string;
  filled: number;
  remaining: number;
  average_price: number | null;
  fee_currency: string | null;
  fee_cost: number | null;
  reason: string | null;
  created_at: number;
  updated_at: number;
}

/** Which currency a fee was paid in, relative to the symbol. */
export type FeeKind = "quote" | "base" | "other";

export interface FillRow {
  id: string;
  event_id: string;
  seq: number;
  order_id: string;
  client_order_id: string;
  account: string;
  venue: string;
  symbol: string;
  strategy_id: string;
  side: string;
  amount: number;
  price: number;
  fee_currency: string;
  fee_cost: number;
  fee_kind: FeeKind;
  liquidity: string;
  ts: number;
  /** The trade this fill opened, added to or (first) closed. */
  trade_id: string;
  /** Realised PnL this fill booked, after its quote fee (0 for a fill that only adds). */
  realized_pnl: number;
}

/**
 * A trade: from flat to flat on one (account, venue, symbol, strategy). `open_qty` (signed base held,
 * net of base fees) and `open_cost` (signed quote paid for it, quote fees included) carry the average
 * cost; `realized_pnl` is after fees.
 */
export interface TradeRow {
  id: string;
  account: string;
  venue: string;
  symbol: string;
  strategy_id: string;
  side: "long" | "short";
  status: "open" | "closed";
  opened_at: number;
  closed_at: number | null;
  entry_qty: number;
  entry_notional: number;
  exit_qty: number;
  exit_notional: number;
  open_qty: number;
  open_cost: number;
  fee_quote: number;
  fee_base: number;
  /** Base fees valued at the price of the fill that paid them. */
  fee_base_quote: number;
  realized_pnl: number;
  fills: number;
  opening_fill_id: string;
  closing_fill_id: string | null;
  updated_at: number;
}

/** The net position of one (account, venue, symbol, strategy), and what it has realised so far. */
export interface PositionRow {
  account: string;
  venue: string;
  symbol: string;
  strategy_id: string;
  amount: number;
  cost: number;
  realized_pnl: number;
  fee_quote: number;
  fee_base: number;
  trades_closed: number;
  open_trade_id: string | null;
  updated_at: number;
}

/** The last fill price the ledger saw on a venue's symbol (its mark for unrealised PnL). */
export interface MarkRow {
  venue: string;
  symbol: string;
  price: number;
  ts: number;
}

/** Everything one batch writes. Rows with a key seen earlier replace it (upserts). */
export interface LedgerWrites {
  events: EventRow[];
  orders: OrderRow[];
  fills: FillRow[];
  trades: TradeRow[];
  positions: PositionRow[];
  marks: MarkRow[];
}

/** The key of a position and of its open trade. */
export interface PositionKey {
  account: string;
  venue: string;
  symbol: string;
  strategy_id: string;
}

export const positionKey = (k: PositionKey): string =>
  `${k.account}\u0000${k.venue}\u0000${k.symbol}\u0000${k.strategy_id}`;

/** A position as the projection needs it: the row and its open trade, if any. */
export interface PositionState {
  position: PositionRow;
  open: TradeRow | undefined;
}

/** Base and quote currency of a unified symbol (`BTC/USDT`, `BTC/USDT:USDT` settles in USDT). */
export function currenciesOf(symbol: string): { base: string; quote: string } {
  const [pair = "", settle] = symbol.split(":");
  const [base = "", quote = ""] = pair.split("/");
  return { base, quote: settle ?? quote };
}

export const feeKindOf = (symbol: string, currency: string): FeeKind => {
  const { base, quote } = currenciesOf(symbol);
  const c = currency.toUpperCase();
  return c === quote ? "quote" : c === base ? "base" : "other";
};
