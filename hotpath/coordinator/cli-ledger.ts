import { z } from "zod";

/**
 * The ledger's CLI commands (`bot4 trades`, `bot4 profit`, `bot4 ledger rebuild`): each one tool call
 * on the `ledger` agent through the coordinator, printed as a table (or raw with --json).
 */

export interface LedgerCliOptions {
  strategy?: string | undefined;
  symbol?: string | undefined;
  account?: string | undefined;
  venue?: string | undefined;
  status?: string | undefined;
  limit?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  cursor?: string | undefined;
}

interface Caller {
  call(agent: string, tool: string, args: unknown): Promise<unknown>;
}
interface Out {
  out: (text: string) => void;
}

/** Times on the command line: integer ms or ISO 8601, passed on as the tools take them. */
const time = (s: string | undefined) => (s === undefined ? undefined : /^\d+$/.test(s) ? Number(s) : s);

function filters(o: LedgerCliOptions): Record<string, unknown> {
  const args: Record<string, unknown> = {
    strategy: o.strategy,
    symbol: o.symbol?.toUpperCase(),
    account: o.account,
    venue: o.venue,
    from: time(o.from),
    to: time(o.to),
  };
  return Object.fromEntries(Object.entries(args).filter(([, v]) => v !== undefined));
}

/** Left-aligned text, right-aligned numbers, two spaces between columns. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = header.map(
    (_, i) => rows.length > 0 && rows.every((r) => /^-?[\d.,]+%?$|^-$/.test(r[i] ?? "")),
  );
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

const num = (v: number | null | undefined, digits = 2) =>
  v === null || v === undefined ? "-" : v.toFixed(digits);
const pct = (v: number | null | undefined) =>
  v === null || v === undefined ? "-" : `${(v * 100).toFixed(1)}%`;
const when = (ms: number | null) =>
  ms === null ? "-" : new Date(ms).toISOString().slice(0, 16).replace("T", " ");

const TradesOut = z.object({
  trades: z.array(
    z.object({
      id: z.string(),
      status: z.string(),
      side: z.string(),
      symbol: z.string(),
      venue: z.string(),
      strategy_id: z.string().nullable(),
      opened_at: z.number(),
      closed_at: z.number().nullable(),
      entry_qty: z.number(),
      avg_entry_price: z.number().nullable(),
      avg_exit_price: z.number().nullable(),
      fees_paid: z.number(),
      realized_pnl: z.number(),
      unrealized_pnl: z.number().nullable(),
    }),
  ),
  next_cursor: z.string().nullable(),
});

export async function tradesCommand(client: Caller, o: LedgerCliOptions, json: boolean, io: Out) {
  const args = {
    ...filters(o),
    ...(o.status !== undefined ? { status: o.status } : {}),
    ...(o.limit !== undefined ? { limit: Number(o.limit) } : {}),
    ...(o.cursor !== undefined ? { cursor: o.cursor } : {}),
  };
  const raw = await client.call("ledger", "get_trades", args);
  if (json) {
    io.out(JSON.stringify(raw, null, 2));
    return 0;
  }
  const page = TradesOut.parse(raw);
  const rows = page.trades.map((t) => [
    t.id,
    t.status,
    t.side,
    t.symbol,
    t.strategy_id ?? "-",
    when(t.opened_at),
    when(t.closed_at),
    num(t.entry_qty, 6),
    num(t.avg_entry_price),
    num(t.avg_exit_price),
    num(t.fees_paid, 4),
    num(t.realized_pnl, 4),
  ]);
  io.out(
    table(
      [
        "trade",
        "status",
        "side",
        "symbol",
        "strategy",
        "opened",
        "closed",
        "qty",
        "entry",
        "exit",
        "fees",
        "pnl",
      ],
      rows,
    ),
  );
  if (page.next_cursor !== null) io.out(`more: --cursor ${page.next_cursor}`);
  return 0;
}

const Summary = z.object({
  closed_trades: z.number(),
  open_trades: z.number(),
  win_rate: z.number().nullable(),
  realized_pnl: z.number(),
  unrealized_pnl: z.number(),
  total_pnl: z.number(),
  fees_paid: z.number(),
  profit_factor: z.number().nullable(),
});
const ProfitOut = z.object({
  total: Summary,
  by_strategy: z.array(Summary.extend({ strategy_id: z.string().nullable() })),
  by_symbol: z.array(Summary.extend({ symbol: z.string() })),
  marks: z.array(z.object({ symbol: z.string(), price: z.number(), source: z.string() })),
});

export async function profitCommand(client: Caller, o: LedgerCliOptions, json: boolean, io: Out) {
  const raw = await client.call("ledger", "profit", filters(o));
  if (json) {
    io.out(JSON.stringify(raw, null, 2));
    return 0;
  }
  const p = ProfitOut.parse(raw);
  const header = ["", "closed", "open", "win rate", "realised", "unrealised", "total", "fees", "PF"];
  const row = (name: string, s: z.infer<typeof Summary>) => [
    name,
    String(s.closed_trades),
    String(s.open_trades),
    pct(s.win_rate),
    num(s.realized_pnl),
    num(s.unrealized_pnl),
    num(s.total_pnl),
    num(s.fees_paid),
    num(s.profit_factor),
  ];
  io.out(
    table(header, [
      ...p.by_strategy.map((s) => row(`strategy ${s.strategy_id ?? "(manual)"}`, s)),
      ...p.by_symbol.map((s) => row(s.symbol, s)),
      row("total", p.total),
    ]),
  );
  if (p.marks.length > 0)
    io.out(
      `marks: ${p.marks.map((m) => `${m.symbol} ${m.price} (${m.source.replace("_", " ")})`).join(", ")}`,
    );
  return 0;
}

const RebuildOut = z.object({
  events: z.number(),
  last_seq: z.number(),
  identical: z.boolean(),
  after: z.record(z.string(), z.object({ rows: z.number(), digest: z.string() })),
});

export async function ledgerCommand(client: Caller, rest: readonly string[], json: boolean, io: Out) {
  if (rest[0] !== "rebuild") throw new LedgerUsageError("ledger needs a subcommand: rebuild");
  const raw = await client.call("ledger", "rebuild", {});
  if (json) {
    io.out(JSON.stringify(raw, null, 2));
    return 0;
  }
  const r = RebuildOut.parse(raw);
  io.out(`replayed ${r.events} events (to stream sequence ${r.last_seq}) into a fresh database`);
  io.out(
    table(
      ["table", "rows", "digest"],
      Object.entries(r.after).map(([t, d]) => [t, String(d.rows), d.digest]),
    ),
  );
  io.out(r.identical ? "tables identical to before the rebuild" : "tables CHANGED by the rebuild");
  return 0;
}

export class LedgerUsageError extends Error {
  override name = "LedgerUsageError";
}
