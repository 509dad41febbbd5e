import { natsBus } from "../../adapters/nats/bus.ts";
import { z } from "zod";
import { callTool } from "../../adapters/nats/tool-transport.ts";
import type { Config } from "../../core/config.ts";
import { Ticker } from "../../core/domain/market.ts";
import { AccountId, StrategyId } from "../../core/domain/trading.ts";
import type { FunctionToolDeps } from "../../core/functions/contract.ts";
import { markKey, profitReport, tradesCsv, tradeView } from "../../core/ledger/reports.ts";
import type { LedgerStore, TableDigest, TradeFilter } from "../../core/ports/ledger-store.ts";
import { rejected } from "../../core/tools/errors.ts";
import { TimeMs } from "../../core/domain/bounds.ts";
import { defineTool, type Tool } from "../../core/tools/tool.ts";
import { readTradeEvents } from "./replay.ts";
import { decodeCursor } from "./sql/store.ts";
import { UnifiedSymbol } from "../../core/domain/market.ts";

/** A time as integer UTC ms or an ISO 8601 string. */
const Time = z.union([TimeMs, z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))]);

const Filters = {
  strategy: StrategyId.optional(),
  symbol: UnifiedSymbol.optional(),
  account: AccountId.optional(),
  venue: z
    .string()
    .regex(/^[a-z0-9_-]{1,64}$/, "a venue id such as paper or binance")
    .optional(),
  from: Time.optional(),
  to: Time.optional(),
};

const checkRange = (p: { from?: number | undefined; to?: number | undefined }) =>
  p.from === undefined || p.to === undefined || p.from <= p.to;
const rangeIssue = { message: "from must not be after to", path: ["from"] };

const filterOf = (a: TradeFilter): TradeFilter => ({
  strategy: a.strategy,
  symbol: a.symbol,
  account: a.account,
  venue: a.venue,
  from: a.from,
  to: a.to,
  status: a.status,
});

const TradeOut = z.object({
  id: z.string(),
  account: z.string(),
  venue: z.string(),
  symbol: z.string(),
  strategy_id: z.string().nullable(),
  side: z.enum(["long", "short"]),
  status: z.enum(["open", "closed"]),
  opened_at: z.number(),
  closed_at: z.number().nullable(),
  entry_qty: z.number(),
  entry_notional: z.number(),
  exit_qty: z.number(),
  exit_notional: z.number(),
  open_qty: z.number(),
  open_cost: z.number(),
  avg_entry_price: z.number().nullable(),
  avg_exit_price: z.number().nullable(),
  fee_quote: z.number(),
  fee_base: z.number(),
  fee_base_quote: z.number(),
  fees_paid: z.number(),
  realized_pnl: z.number(),
  unrealized_pnl: z.number().nullable(),
  profit_ratio: z.number().nullable(),
  fills: z.number().int(),
  opening_fill_id: z.string(),
  closing_fill_id: z.string().nullable(),
  updated_at: z.number(),
});

const FillOut = z.object({
  id: z.string(),
  order_id: z.string(),
  client_order_id: z.string(),
  account: z.string(),
  venue: z.string(),
  symbol: z.string(),
  strategy_id: z.string().nullable(),
  side: z.string(),
  amount: z.number(),
  price: z.number(),
  fee_currency: z.string(),
  fee_cost: z.number(),
  fee_kind: z.enum(["quote", "base", "other"]),
  liquidity: z.string(),
  ts: z.number(),
  trade_id: z.string(),
  realized_pnl: z.number(),
  event_id: z.string(),
  seq: z.number(),
});

const Summary = z.object({
  closed_trades: z.number().int(),
  open_trades: z.number().int(),
  wins: z.number().int(),
  losses: z.number().int(),
  win_rate: z.number().nullable(),
  realized_pnl: z.number(),
  unrealized_pnl: z.number(),
  total_pnl: z.number(),
  fees_paid: z.number(),
  fees_quote: z.number(),
  fees_base_in_quote: z.number(),
  profit_factor: z.number().nullable(),
  realized_ratio: z.number().nullable(),
  unmarked: z.number().int(),
});

const MarkOut = z.object({
  venue: z.string(),
  symbol: z.string(),
  price: z.number(),
  source: z.enum(["ledger_fill", "exchange_ticker", "given"]),
  ts: z.number().nullable(),
});

const DigestOut = z.record(z.string(), z.object({ rows: z.number().int(), digest: z.string() }));

const PERIOD_MS = { "1h": 3_600_000, "4h": 14_400_000, "1d": 86_400_000, "1w": 604_800_000 } as const;

/** What the ledger's tools need: the store, and the bus for marks from the exchange and rebuilds. */
export interface LedgerToolDeps {
  config: Config;
  store(): Promise<LedgerStore>;
  bus: FunctionToolDeps<undefined>["bus"];
}

function startingBalance(config: Config): number {
  return config.RISK_INITIAL_EQUITY ?? config.PAPER_BALANCES.USDT ?? 0;
}

/** The TradeLedger's tools. */
export function ledgerTools(deps: LedgerToolDeps): readonly Tool[] {
  const getTrades = defineTool({
    name: "get_trades",
    description:
      "Trades (entry → exit, fees in quote and base, strategy, account, venue), newest first; filters: strategy, symbol, account, venue, opened from/to, status open/closed; paging by cursor",
    input: z
      .object({
        ...Filters,
        status: z.enum(["open", "closed"]).optional(),
        limit: z.number().int().min(1).max(1000).default(100),
        cursor: z
          .string()
          .min(1)
          .max(400)
          .refine(
            (c) => {
              try {
                decodeCursor(c);
                return true;
              } catch {
                return false;
              }
            },
            { message: "not a cursor returned by get_trades" },
          )
          .optional(),
      })
      .refine(checkRange, rangeIssue),
    output: z.object({ trades: z.array(TradeOut), next_cursor: z.string().nullable() }),
    // tradeView spells out TradeOut's keys, typed by it; the rows are the ledger's own (written from
    // its projection as JSON, so every number is finite; side, status and the integer fill count
    // are the projection's typed values; NOT NULL where TradeOut is not nullable). Not parsing a
    // page of 1 000 again saves most of the tool layer (ledger.test.ts parses the pages).
    outputByConstruction: true,
    async handler(a) {
      const store = await deps.store();
      const page = await store.trades(filterOf(a), { limit: a.limit, cursor: a.cursor });
      return { trades: page.trades.map((t) => tradeView(t)), next_cursor: page.next_cursor };
    },
  });

  const getTrade = defineTool({
    name: "get_trade",
    description: "One trade by id with its fills (oldest first) and its unrealised PnL at the ledger's mark",
    input: z.object({
      id: z
        .string()
        .min(1)
        .max(200)
        .regex(/^[\x21-\x7e]+$/, "a trade id (printable ASCII, no spaces)"),
    }),
    output: z.object({ trade: TradeOut, fills: z.array(FillOut) }),
    async handler(a) {
      const store = await deps.store();
      const found = await store.trade(a.id);
      if (found === undefined) throw rejected(`no trade ${a.id}`);
      const mark = (await store.marks()).find(
        (m) => m.venue === found.trade.venue && m.symbol === found.trade.symbol,
      );
      return {
        trade: tradeView(found.trade, mark?.price),
        fills: found.fills.map((f) => ({ ...f, strategy_id: f.strategy_id === "" ? null : f.strategy_id })),
      };
    },
  });

  const profit = defineTool({
    name: "profit",
    description:
      "Realised PnL after fees, unrealised PnL at marks, fees paid, win rate and profit factor: total, per strategy and per symbol. Marks: the last fill price the ledger saw (default), the exchange's ticker over NATS (marks_from=exchange), or given",
    input: z
      .object({
        ...Filters,
        marks_from: z.enum(["ledger", "exchange"]).default("ledger"),
        marks: z.record(UnifiedSymbol, z.number().positive().finite()).optional(),
      })
      .refine(checkRange, rangeIssue),
    output: z.object({
      from: z.number().nullable(),
      to: z.number().nullable(),
      marks: z.array(MarkOut),
      total: Summary,
      by_strategy: z.array(Summary.extend({ strategy_id: z.string().nullable() })),
      by_symbol: z.array(Summary.extend({ symbol: z.string() })),
    }),
    async handler(a) {
      const store = await deps.store();
      const groups = await store.profit(filterOf(a));
      const marks = new Map<string, z.infer<typeof MarkOut>>();
      for (const m of await store.marks()) {
        marks.set(markKey(m.venue, m.symbol), { ...m, source: "ledger_fill" });
      }
      const needed = groups.filter((g) => g.open > 0);
      if (a.marks_from === "exchange" && needed.length > 0) {
        const bus = natsBus(await deps.bus());
        await Promise.all(
          needed.map(async (g) => {
            try {
              const t = Ticker.parse(
                await callTool(
                  bus,
                  "exchange",
                  "get_ticker",
                  { venue: g.venue, symbol: g.symbol },
                  { timeout: 2_000 },
                ),
              );
              marks.set(markKey(g.venue, g.symbol), {
                venue: g.venue,
                symbol: g.symbol,
                price: t.last,
                source: "exchange_ticker",
                ts: t.timestamp,
              });
            } catch {
              // Keeps the ledger's own mark: the exchange is down or does not know the symbol.
            }
          }),
        );
      }
      for (const [symbol, price] of Object.entries(a.marks ?? {})) {
        for (const g of groups.filter((x) => x.symbol === symbol)) {
          marks.set(markKey(g.venue, symbol), { venue: g.venue, symbol, price, source: "given", ts: null });
        }
      }
      const prices = new Map([...marks].map(([k, m]) => [k, m.price]));
      const used = [...marks.values()].filter((m) =>
        needed.some((g) => g.venue === m.venue && g.symbol === m.symbol),
      );
      return { from: a.from ?? null, to: a.to ?? null, marks: used, ...profitReport(groups, prices) };
    },
  });

  const performance = defineTool({
    name: "performance",
    description:
      "Closed-trade performance per pair, as freqtrade's /performance: pair, profit_ratio (sum of trade ratios), profit_pct, profit_abs (after fees), count; best first",
    input: z.object(Filters).refine(checkRange, rangeIssue),
    output: z.array(
      z.object({
        pair: z.string(),
        profit_ratio: z.number(),
        profit_pct: z.number(),
        profit_abs: z.number(),
        count: z.number().int(),
      }),
    ),
    async handler(a) {
      const rows = await (await deps.store()).performance(filterOf(a));
      return rows.map((r) => ({
        pair: r.symbol,
        profit_ratio: r.profit_ratio,
        profit_pct: Math.round(r.profit_ratio * 10_000) / 100,
        profit_abs: r.profit_abs,
        count: r.count,
      }));
    },
  });

  const periodPnl = defineTool({
    name: "period_pnl",
    description:
      "Realised PnL after fees and fees per day, week (from Monday) or month (UTC), newest first, with the trades closed and won in each period",
    input: z
      .object({
        ...Filters,
        period: z.enum(["day", "week", "month"]).default("day"),
        limit: z.number().int().min(1).max(1000).default(30),
      })
      .refine(checkRange, rangeIssue),
    output: z.object({
      period: z.enum(["day", "week", "month"]),
      rows: z.array(
        z.object({
          start: z.number(),
          date: z.string(),
          trades: z.number().int(),
          wins: z.number().int(),
          realized_pnl: z.number(),
          fees_quote: z.number(),
        }),
      ),
    }),
    async handler(a) {
      const rows = await (await deps.store()).periodPnl(a.period, filterOf(a), a.limit);
      return {
        period: a.period,
        rows: rows.map((r) => ({ ...r, date: new Date(r.start).toISOString().slice(0, 10) })),
      };
    },
  });

  const balanceHistory = defineTool({
    name: "balance_history",
    description:
      "Equity over time for charts: starting balance plus realised PnL after fees, per interval (1h, 4h, 1d, 1w), oldest first; the last point adds the open trades' unrealised PnL at the ledger's marks",
    input: z
      .object({
        ...Filters,
        interval: z.enum(["1h", "4h", "1d", "1w"]).default("1d"),
        starting_balance: z.number().finite().min(0).max(1e15).optional(),
        limit: z.number().int().min(1).max(5000).default(500),
      })
      .refine(checkRange, rangeIssue),
    output: z.object({
      interval: z.string(),
      starting_balance: z.number(),
      points: z.array(
        z.object({
          at: z.number(),
          equity: z.number(),
          realized_pnl: z.number(),
          cumulative_pnl: z.number(),
          fees_quote: z.number(),
        }),
      ),
      unrealized_pnl: z.number(),
    }),
    async handler(a) {
      const store = await deps.store();
      const start = a.starting_balance ?? startingBalance(deps.config);
      const points = await store.balanceHistory(filterOf(a), PERIOD_MS[a.interval], a.limit);
      const marks = new Map((await store.marks()).map((m) => [markKey(m.venue, m.symbol), m.price]));
      const unrealized = profitReport(
        await store.profit(filterOf({ ...a, from: undefined, to: undefined })),
        marks,
      ).total.unrealized_pnl;
      return {
        interval: a.interval,
        starting_balance: start,
        points: points.map((p, i) => ({
          ...p,
          equity: start + p.cumulative_pnl + (i === points.length - 1 ? unrealized : 0),
        })),
        unrealized_pnl: unrealized,
      };
    },
  });

  const exportTrades = defineTool({
    name: "export_trades",
    description: "Trades as CSV (RFC 4180), newest first, with the get_trades filters; at most `limit` rows",
    input: z
      .object({
        ...Filters,
        status: z.enum(["open", "closed"]).optional(),
        limit: z.number().int().min(1).max(100_000).default(10_000),
      })
      .refine(checkRange, rangeIssue),
    output: z.object({ csv: z.string(), rows: z.number().int(), truncated: z.boolean() }),
    async handler(a) {
      const store = await deps.store();
      const page = await store.trades(filterOf(a), { limit: a.limit });
      return { csv: tradesCsv(page.trades), rows: page.trades.length, truncated: page.next_cursor !== null };
    },
  });

  const rebuild = defineTool({
    name: "rebuild",
    description:
      "Replays the trade events of EVENTS into a fresh database and replaces the ledger's tables with it; returns the tables' row counts and digests before and after",
    input: z.object({}).strict(),
    output: z.object({
      events: z.number().int(),
      last_seq: z.number().int(),
      before: DigestOut,
      after: DigestOut,
      identical: z.boolean(),
    }),
    async handler() {
      const store = await deps.store();
      const bus = natsBus(await deps.bus());
      const before: Record<string, TableDigest> = await store.digests();
      const r = await store.rebuild((from) => readTradeEvents(bus, from));
      const after = await store.digests();
      return {
        events: r.events,
        last_seq: r.lastSeq,
        before,
        after,
        identical: JSON.stringify(before) === JSON.stringify(after),
      };
    },
  });

  return [getTrades, getTrade, profit, performance, periodPnl, balanceHistory, exportTrades, rebuild];
}
