import type { Fill, Order } from "../domain/trading.ts";
import {
  type FillRow,
  feeKindOf,
  type LedgerEvent,
  type LedgerWrites,
  type OrderRow,
  type PositionKey,
  type PositionRow,
  type PositionState,
  positionKey,
  type TradeRow,
} from "./model.ts";

/**
 * The ledger's projection, pure: trade events → rows. The store hands it the events not applied yet
 * (the inbox filtered them by event id), the fill ids already stored and the current positions of
 * the keys the fills touch; it returns every row to write. Same input, same rows: a rebuild from the
 * events reproduces the tables.
 *
 * Accounting (average cost, fees in either currency of the pair):
 * - a fill moves the signed base held by `±amount − base fee` (a fee in base always leaves the
 *   holdings) and the quote cash by `∓amount × price − quote fee`;
 * - a fill in the trade's direction adds to it: `open_cost −= cash` (quote fees become cost);
 * - a fill against it releases the share `r = |Δqty| / |open_qty|` of the cost and books
 *   `realized = cash − r × open_cost` (so the closing side's quote fee is deducted, and base fees are
 *   in the quantities: a closed trade's realised PnL is exactly its quote cash flow);
 * - a fill that crosses zero is split pro rata: the part that closes the trade, and the rest, which
 *   opens the next trade (`<fill id>:flip`);
 * - fees in a third currency (BNB) are stored on the fill but not deducted (no rate to convert).
 */

/** |x| at or below this share of the quantities involved is flat (float noise of partial fills). */
const FLAT = 1e-9;

export const emptyWrites = (): LedgerWrites => ({
  events: [],
  orders: [],
  fills: [],
  trades: [],
  positions: [],
  marks: [],
});

const keyOfFill = (f: Fill): PositionKey => ({
  account: f.account,
  venue: f.venue,
  symbol: f.symbol,
  strategy_id: f.strategyId ?? "",
});

/** The position keys a batch's fills touch (what the store loads before projecting). */
export function touchedKeys(events: readonly LedgerEvent[]): PositionKey[] {
  const keys = new Map<string, PositionKey>();
  for (const e of events) {
    if (e.kind !== "fill") continue;
    const k = keyOfFill(e.data);
    keys.set(positionKey(k), k);
  }
  return [...keys.values()];
}

export function orderRow(eventId: string, o: Order): OrderRow {
  return {
    id: o.id,
    event_id: eventId,
    client_order_id: o.clientOrderId,
    account: o.account,
    venue: o.venue,
    symbol: o.symbol,
    strategy_id: o.strategyId ?? "",
    side: o.side,
    type: o.type,
    amount: o.amount,
    price: o.price ?? null,
    stop_price: o.stopPrice ?? null,
    status: o.status,
    filled: o.filled,
    remaining: o.remaining,
    average_price: o.averagePrice ?? null,
    fee_currency: o.fee?.currency ?? null,
    fee_cost: o.fee?.cost ?? null,
    reason: o.reason ?? null,
    created_at: o.createdAt,
    updated_at: o.updatedAt,
  };
}

const emptyPosition = (k: PositionKey, at: number): PositionRow => ({
  ...k,
  amount: 0,
  cost: 0,
  realized_pnl: 0,
  fee_quote: 0,
  fee_base: 0,
  trades_closed: 0,
  open_trade_id: null,
  updated_at: at,
});

/** One leg of a fill applied to one trade (a whole fill, or one side of a fill that flips). */
interface Leg {
  sign: 1 | -1;
  amount: number;
  price: number;
  feeQuote: number;
  feeBase: number;
}

const qtyOf = (l: Leg) => l.sign * l.amount - l.feeBase;
const cashOf = (l: Leg) => -l.sign * l.amount * l.price - l.feeQuote;
const scaled = (l: Leg, k: number): Leg => ({
  ...l,
  amount: l.amount * k,
  feeQuote: l.feeQuote * k,
  feeBase: l.feeBase * k,
});

function openTrade(id: string, k: PositionKey, leg: Leg, fillId: string, at: number): TradeRow {
  return {
    id,
    ...k,
    side: leg.sign > 0 ? "long" : "short",
    status: "open",
    opened_at: at,
    closed_at: null,
    entry_qty: 0,
    entry_notional: 0,
    exit_qty: 0,
    exit_notional: 0,
    open_qty: 0,
    open_cost: 0,
    fee_quote: 0,
    fee_base: 0,
    fee_base_quote: 0,
    realized_pnl: 0,
    fills: 0,
    opening_fill_id: fillId,
    closing_fill_id: null,
    updated_at: at,
  };
}

function bookFees(t: TradeRow, p: PositionRow, leg: Leg): void {
  t.fee_quote += leg.feeQuote;
  t.fee_base += leg.feeBase;
  t.fee_base_quote += leg.feeBase * leg.price;
  p.fee_quote += leg.feeQuote;
  p.fee_base += leg.feeBase;
}

/** Adds a leg in the trade's direction. */
function addTo(t: TradeRow, p: PositionRow, leg: Leg): void {
  t.entry_qty += leg.amount;
  t.entry_notional += leg.amount * leg.price;
  t.open_qty += qtyOf(leg);
  t.open_cost -= cashOf(leg);
  bookFees(t, p, leg);
}

/** Reduces the trade by a leg against it (never past zero); returns the realised PnL. */
function reduce(t: TradeRow, p: PositionRow, leg: Leg): number {
  const dq = qtyOf(leg);
  const r = Math.min(1, Math.abs(dq) / Math.abs(t.open_qty));
  const released = t.open_cost * r;
  const realized = cashOf(leg) - released;
  t.exit_qty += leg.amount;
  t.exit_notional += leg.amount * leg.price;
  t.open_qty += dq;
  t.open_cost -= released;
  t.realized_pnl += realized;
  p.realized_pnl += realized;
  bookFees(t, p, leg);
  return realized;
}

function close(t: TradeRow, p: PositionRow, fillId: string, at: number): void {
  t.status = "closed";
  t.closed_at = at;
  t.closing_fill_id = fillId;
  t.open_qty = 0;
  t.open_cost = 0;
  p.trades_closed += 1;
  p.open_trade_id = null;
}

/**
 * Applies one fill to its position; returns the fill's row and the trades it changed (a fill that
 * flips closes one trade and opens the next).
 */
export function applyFill(
  state: PositionState,
  eventId: string,
  seq: number,
  f: Fill,
): { fill: FillRow; trades: TradeRow[] } {
  const p = state.position;
  const feeKind = feeKindOf(f.symbol, f.fee.currency);
  const leg: Leg = {
    sign: f.side === "buy" ? 1 : -1,
    amount: f.amount,
    price: f.price,
    feeQuote: feeKind === "quote" ? f.fee.cost : 0,
    feeBase: feeKind === "base" ? f.fee.cost : 0,
  };
  const k = keyOfFill(f);
  const changed: TradeRow[] = [];
  let realized = 0;
  let t = state.open;
  let tradeId: string;
  if (t === undefined) {
    t = openTrade(f.id, k, leg, f.id, f.timestamp);
    addTo(t, p, leg);
    changed.push(t);
    tradeId = t.id;
  } else {
    tradeId = t.id;
    const dq = qtyOf(leg);
    const against = Math.sign(dq) !== 0 && Math.sign(dq) !== Math.sign(t.open_qty);
    if (!against) {
      addTo(t, p, leg);
      changed.push(t);
    } else {
      const before = Math.abs(t.open_qty);
      const flat = FLAT * Math.max(before, Math.abs(dq));
      if (Math.abs(dq) <= before + flat) {
        realized = reduce(t, p, leg);
        if (Math.abs(t.open_qty) <= flat) close(t, p, f.id, f.timestamp);
        changed.push(t);
      } else {
        // Crosses zero: the share that closes this trade, and the rest opens the next one.
        const share = before / Math.abs(dq);
        realized = reduce(t, p, scaled(leg, share));
        close(t, p, f.id, f.timestamp);
        changed.push(t);
        const rest = scaled(leg, 1 - share);
        const next = openTrade(`${f.id}:flip`, k, rest, f.id, f.timestamp);
        addTo(next, p, rest);
        changed.push(next);
        t = next;
      }
    }
  }
  t.fills += 1;
  t.updated_at = f.timestamp;
  if (changed[0] !== undefined && changed[0] !== t) changed[0].fills += 1;
  state.open = t.status === "open" ? t : undefined;
  p.open_trade_id = state.open?.id ?? null;
  p.amount = state.open?.open_qty ?? 0;
  p.cost = state.open?.open_cost ?? 0;
  p.updated_at = Math.max(p.updated_at, f.timestamp);
  const fill: FillRow = {
    id: f.id,
    event_id: eventId,
    seq,
    order_id: f.orderId,
    client_order_id: f.clientOrderId,
    account: f.account,
    venue: f.venue,
    symbol: f.symbol,
    strategy_id: k.strategy_id,
    side: f.side,
    amount: f.amount,
    price: f.price,
    fee_currency: f.fee.currency,
    fee_cost: f.fee.cost,
    fee_kind: feeKind,
    liquidity: f.liquidity,
    ts: f.timestamp,
    trade_id: tradeId,
    realized_pnl: realized,
  };
  return { fill, trades: changed };
}

/**
 * Projects a batch of events not applied before. `positions` holds the current state of the keys
 * the batch touches (absent: flat, never traded); it is updated in place. `knownFills`: fill ids
 * already stored (a fill republished under another event id changes nothing).
 */
export function projectBatch(
  events: readonly LedgerEvent[],
  positions: Map<string, PositionState>,
  knownFills: ReadonlySet<string>,
): LedgerWrites {
  const out = emptyWrites();
  const orders = new Map<string, OrderRow>();
  const trades = new Map<string, TradeRow>();
  const touched = new Map<string, PositionRow>();
  const marks = new Map<string, { venue: string; symbol: string; price: number; ts: number }>();
  const fills = new Set(knownFills);
  for (const e of events) {
    out.events.push({ id: e.id, seq: e.seq, type: e.type, time: e.time });
    if (e.kind === "order") {
      const prev = orders.get(e.data.id);
      if (prev === undefined || prev.updated_at <= e.data.updatedAt)
        orders.set(e.data.id, orderRow(e.id, e.data));
      continue;
    }
    if (e.kind !== "fill" || fills.has(e.data.id)) continue;
    fills.add(e.data.id);
    const f = e.data;
    const k = keyOfFill(f);
    const pk = positionKey(k);
    let state = positions.get(pk);
    if (state === undefined) {
      state = { position: emptyPosition(k, f.timestamp), open: undefined };
      positions.set(pk, state);
    }
    const applied = applyFill(state, e.id, e.seq, f);
    out.fills.push(applied.fill);
    for (const t of applied.trades) trades.set(t.id, t);
    touched.set(pk, state.position);
    const mk = `${f.venue}\u0000${f.symbol}`;
    const prev = marks.get(mk);
    if (prev === undefined || prev.ts <= f.timestamp)
      marks.set(mk, { venue: f.venue, symbol: f.symbol, price: f.price, ts: f.timestamp });
  }
  out.orders = [...orders.values()];
  out.trades = [...trades.values()].map((t) => ({ ...t }));
  out.positions = [...touched.values()].map((p) => ({ ...p }));
  out.marks = [...marks.values()];
  return out;
}
