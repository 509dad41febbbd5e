import type {
  FillRow,
  LedgerEvent,
  LedgerWrites,
  MarkRow,
  PositionRow,
  PositionState,
  TradeRow,
} from "../../../core/ledger/model.ts";
import { positionKey } from "../../../core/ledger/model.ts";
import { projectBatch, touchedKeys } from "../../../core/ledger/projection.ts";
import type {
  BalancePoint,
  LedgerStore,
  PerformanceRow,
  Period,
  PeriodRow,
  ProfitGroup,
  TableDigest,
  TradeFilter,
  TradePage,
} from "../../../core/ports/ledger-store.ts";
import { columnNames, type SqlClient } from "./client.ts";
import { CopyTextReader } from "./text-rows.ts";
import { migrate, quoteSchema } from "./migrations.ts";

/** Column lists of the tables the projection writes (names and SQL types, as in the migrations). */
const columns = {
  events: { key: ["id"], cols: "id text, seq bigint, type text, time bigint" },
  orders: {
    key: ["id"],
    cols: `id text, event_id text, client_order_id text, account text, venue text, symbol text, strategy_id text,
      side text, type text, amount float8, price float8, stop_price float8, status text, filled float8,
      remaining float8, average_price float8, fee_currency text, fee_cost float8, reason text,
      created_at bigint, updated_at bigint`,
  },
  fills: {
    key: ["id"],
    cols: `id text, event_id text, seq bigint, order_id text, client_order_id text, account text, venue text,
      symbol text, strategy_id text, side text, amount float8, price float8, fee_currency text, fee_cost float8,
      fee_kind text, liquidity text, ts bigint, trade_id text, realized_pnl float8`,
  },
  trades: {
    key: ["id"],
    cols: `id text, account text, venue text, symbol text, strategy_id text, side text, status text,
      opened_at bigint, closed_at bigint, entry_qty float8, entry_notional float8, exit_qty float8,
      exit_notional float8, open_qty float8, open_cost float8, fee_quote float8, fee_base float8,
      fee_base_quote float8, realized_pnl float8, fills integer, opening_fill_id text, closing_fill_id text,
      updated_at bigint`,
  },
  positions: {
    key: ["account", "venue", "symbol", "strategy_id"],
    cols: `account text, venue text, symbol text, strategy_id text, amount float8, cost float8,
      realized_pnl float8, fee_quote float8, fee_base float8, trades_closed integer, open_trade_id text,
      updated_at bigint`,
  },
  marks: { key: ["venue", "symbol"], cols: "venue text, symbol text, price float8, ts bigint" },
} as const;

type Table = keyof typeof columns;
/** The projected tables, in the order a digest or a copy walks them. */
export const ledgerTables = Object.keys(columns) as Table[];

const names = (t: Table) => columnNames(columns[t].cols);

/** The upsert policy per table: what a row whose key exists does. */
const onConflict: Record<Table, (s: string) => string> = {
  events: () => "DO NOTHING",
  fills: () => "DO NOTHING",
  // An order keeps its latest state (by the exchange's updatedAt; a tie: the later event).
  orders: (s) => `DO UPDATE SET ${set("orders")} WHERE ${s}.orders.updated_at <= excluded.updated_at`,
  trades: () => `DO UPDATE SET ${set("trades")}`,
  positions: () => `DO UPDATE SET ${set("positions")}`,
  marks: (s) => `DO UPDATE SET ${set("marks")} WHERE ${s}.marks.ts <= excluded.ts`,
};

function set(t: Table): string {
  const key = new Set<string>(columns[t].key);
  return names(t)
    .filter((c) => !key.has(c))
    .map((c) => `${c} = excluded.${c}`)
    .join(", ");
}

/** One multi-row statement: the rows travel as one JSON parameter (`$<param>`) through json_to_recordset. */
function insertSql(s: string, t: Table, param: number): string {
  const list = names(t).join(", ");
  return `INSERT INTO ${s}.${t} (${list}) SELECT ${list} FROM json_to_recordset($${param}::text::json) AS x(${columns[t].cols})
    ON CONFLICT (${columns[t].key.join(", ")}) ${onConflict[t](s)}`;
}

/** SQLSTATE of a duplicate key. */
const UNIQUE_VIOLATION = "23505";

const TRADE_COLS = names("trades").join(", ");

/**
 * The trades of a page read (the rows' `page_line`s, each ended by a newline: COPY text of the
 * trade's columns, migration 4), each built in one object literal straight from the text: every row
 * gets the same shape (a page of 1 000 built key by key cost twice as much), and no array of fields
 * is made in between. The reads follow the literal's order, which is `columns.trades`' and the
 * line's (a test checks the page against the driver's own rows).
 */
export function tradesFromLines(text: string): TradeRow[] {
  const r = new CopyTextReader(text);
  const out: TradeRow[] = [];
  while (r.row()) {
    out.push({
      id: r.text("id"),
      account: r.text("account"),
      venue: r.text("venue"),
      symbol: r.text("symbol"),
      strategy_id: r.text("strategy_id"),
      side: r.text("side") as TradeRow["side"],
      status: r.text("status") as TradeRow["status"],
      opened_at: r.num("opened_at"),
      closed_at: r.numOrNull(),
      entry_qty: r.num("entry_qty"),
      entry_notional: r.num("entry_notional"),
      exit_qty: r.num("exit_qty"),
      exit_notional: r.num("exit_notional"),
      open_qty: r.num("open_qty"),
      open_cost: r.num("open_cost"),
      fee_quote: r.num("fee_quote"),
      fee_base: r.num("fee_base"),
      fee_base_quote: r.num("fee_base_quote"),
      realized_pnl: r.num("realized_pnl"),
      fills: r.num("fills"),
      opening_fill_id: r.text("opening_fill_id"),
      closing_fill_id: r.textOrNull(),
      updated_at: r.num("updated_at", true),
    });
  }
  return out;
}

const FILL_COLS = names("fills").join(", ");

/** Builds a WHERE clause from a trade filter; `time` names the column the range applies to. */
function where(f: TradeFilter, params: unknown[], time: string, extra: string[] = [], prefix = ""): string {
  const c = [...extra];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    c.push(sql.replace("?", `$${params.length}`));
  };
  if (f.strategy !== undefined) add(`${prefix}strategy_id = ?`, f.strategy);
  if (f.symbol !== undefined) add(`${prefix}symbol = ?`, f.symbol);
  if (f.account !== undefined) add(`${prefix}account = ?`, f.account);
  if (f.venue !== undefined) add(`${prefix}venue = ?`, f.venue);
  if (f.from !== undefined) add(`${time} >= ?`, f.from);
  if (f.to !== undefined) add(`${time} <= ?`, f.to);
  return c.length === 0 ? "" : `WHERE ${c.join(" AND ")}`;
}

const encodeCursor = (t: TradeRow) => Buffer.from(`${t.opened_at}:${t.id}`).toString("base64url");

/** Decodes a page cursor; throws a RangeError for one this store did not write. */
export function decodeCursor(cursor: string): { openedAt: number; id: string } {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const at = text.indexOf(":");
  const openedAt = Number(text.slice(0, at));
  if (at <= 0 || !Number.isInteger(openedAt) || text.length === at + 1)
    throw new RangeError("cursor: not a cursor returned by get_trades");
  return { openedAt, id: text.slice(at + 1) };
}

/**
 * The ledger on SQL: one implementation over a {@link SqlClient}, so PGlite and PostgreSQL run the
 * same statements. Every table lives in one schema (default `ledger`), which is what lets a rebuild
 * project into a fresh schema next to the live one.
 */
export class SqlLedgerStore implements LedgerStore {
  readonly kind: "pglite" | "postgres";
  private readonly s: string;

  private constructor(
    private readonly client: SqlClient,
    readonly schema: string,
    private readonly ownsClient: boolean,
  ) {
    this.kind = client.kind;
    this.s = quoteSchema(schema);
  }

  /** Opens the store on `client` in `schema`, applying missing migrations. */
  static async open(
    client: SqlClient,
    options: { schema?: string; ownsClient?: boolean } = {},
  ): Promise<SqlLedgerStore> {
    const store = new SqlLedgerStore(client, options.schema ?? "ledger", options.ownsClient ?? true);
    await migrate(client, store.schema);
    return store;
  }

  private lockKey(): string {
    return `bot4.ledger.apply.${this.schema}`;
  }

  /**
   * Applies a batch in one transaction under the apply lock. Optimistic first: the batch is written
   * as if every event and fill were new, and the primary keys of the append-only tables check it (a
   * replayed event id or a fill id stored before fails the COPY, which rolls the transaction back);
   * only then is the batch applied again, checked: stored events and fills are read and skipped.
   * Redeliveries are rare, so the common batch pays no lookup of its ids.
   */
  async apply(events: readonly LedgerEvent[]): Promise<{ applied: number; duplicates: number }> {
    if (events.length === 0) return { applied: 0, duplicates: 0 };
    const run = (checked: boolean) =>
      this.client.transaction(async (tx) => {
        // Sent back to back (both engines run a connection's statements in order): the read's
        // snapshot is taken when it starts, after the lock is granted.
        const [, out] = await Promise.all([
          tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [this.lockKey()]),
          this.applyIn(tx, events, checked),
        ]);
        return out;
      });
    try {
      return await run(false);
    } catch (err) {
      if ((err as { code?: unknown }).code !== UNIQUE_VIOLATION) throw err;
      return run(true);
    }
  }

  /**
   * The body of {@link apply}, inside a transaction the caller holds (and its apply lock): one
   * statement reads what the projection needs (the touched positions and their open trades and,
   * `checked`, which event ids and fill ids are stored already); the inbox rows and fills go in with
   * COPY (append-only), and one statement upserts orders, trades, positions and marks
   * (data-modifying CTEs). A batch costs two waits for the database whatever its size (the lock
   * and the read, then the writes), and no row is written twice. Unchecked, a stored event or fill
   * fails the COPY with a unique violation.
   */
  async applyIn(
    tx: SqlClient,
    events: readonly LedgerEvent[],
    checked = true,
  ): Promise<{ applied: number; duplicates: number }> {
    const s = this.s;
    const unique = new Map<string, LedgerEvent>();
    for (const e of events) if (!unique.has(e.id)) unique.set(e.id, e);
    const all = [...unique.values()];
    const ids = (sql: string) => (checked ? sql : "NULL::json");
    const fillIds = all.flatMap((e) => (e.kind === "fill" ? [e.data.id] : []));
    const [read] = await tx.query<{
      stored: string[] | null;
      known: string[] | null;
      positions: PositionRow[] | null;
      open: TradeRow[] | null;
    }>(
      `WITH keys AS (SELECT * FROM json_to_recordset($1::text::json) AS k(account text, venue text, symbol text, strategy_id text)),
         pos AS (SELECT p.* FROM ${s}.positions p JOIN keys USING (account, venue, symbol, strategy_id))
       SELECT ${ids(`(SELECT json_agg(id) FROM ${s}.events WHERE id IN (SELECT json_array_elements_text($2::text::json)))`)} AS stored,
         ${ids(`(SELECT json_agg(id) FROM ${s}.fills WHERE id IN (SELECT json_array_elements_text($3::text::json)))`)} AS known,
         (SELECT json_agg(pos) FROM pos) AS positions,
         (SELECT json_agg(t) FROM (SELECT ${TRADE_COLS} FROM ${s}.trades WHERE id IN (SELECT open_trade_id FROM pos)) t) AS open`,
      [
        JSON.stringify(touchedKeys(all)),
        ...(checked ? [JSON.stringify([...unique.keys()]), JSON.stringify(fillIds)] : []),
      ],
    );
    const stored = new Set(read?.stored ?? []);
    const batch = all.filter((e) => !stored.has(e.id));
    if (batch.length === 0) return { applied: 0, duplicates: events.length };
    const w = projectBatch(
      batch,
      this.states(read?.positions ?? [], read?.open ?? []),
      new Set(read?.known ?? []),
    );
    await this.writeRows(tx, w);
    return { applied: batch.length, duplicates: events.length - batch.length };
  }

  /**
   * Writes a batch's rows: the inbox and the fills appended, the rest upserted in one statement —
   * the three sent without waiting for each other's replies (the connection runs them in order; a
   * failing one fails those after it, and the first failure is the one thrown), so the database
   * works on one while the next is serialised here.
   */
  private async writeRows(tx: SqlClient, w: LedgerWrites): Promise<void> {
    const s = this.s;
    const writes = [tx.appendRows(`${s}.events`, columns.events.cols, w.events)];
    if (w.fills.length > 0) writes.push(tx.appendRows(`${s}.fills`, columns.fills.cols, w.fills));
    const parts: string[] = [];
    const params: string[] = [];
    for (const [t, rows] of [
      ["orders", w.orders],
      ["trades", w.trades],
      ["positions", w.positions],
      ["marks", w.marks],
    ] as const) {
      if (rows.length === 0) continue;
      params.push(JSON.stringify(rows));
      parts.push(`w_${t} AS (${insertSql(s, t, params.length)})`);
    }
    if (parts.length > 0) writes.push(tx.query(`WITH ${parts.join(",\n")} SELECT 1`, params).then(() => {}));
    await Promise.all(writes);
  }

  /** The projection's state of the touched positions, from the rows the read returned. */
  private states(
    positions: readonly PositionRow[],
    openTrades: readonly TradeRow[],
  ): Map<string, PositionState> {
    const open = new Map(openTrades.map((t) => [t.id, t]));
    const out = new Map<string, PositionState>();
    for (const p of positions) {
      out.set(positionKey(p), {
        position: { ...p },
        open: p.open_trade_id === null ? undefined : open.get(p.open_trade_id),
      });
    }
    return out;
  }

  async trades(f: TradeFilter, page: { limit: number; cursor?: string | undefined }): Promise<TradePage> {
    const params: unknown[] = [];
    const extra: string[] = [];
    if (f.status !== undefined) {
      params.push(f.status);
      extra.push(`status = $${params.length}`);
    }
    if (page.cursor !== undefined) {
      const c = decodeCursor(page.cursor);
      params.push(c.openedAt, c.id);
      extra.push(`(opened_at, id) < ($${params.length - 1}::bigint, $${params.length}::text)`);
    }
    const w = where(f, params, "opened_at", extra);
    params.push(page.limit + 1);
    // One field of one row: the page's lines, in page order (PostgreSQL 16+ aggregates the sorted
    // input as it comes; 15 sorts the page's rows again). The rows print nothing at read time.
    const [read] = await this.client.query<{ page: string | null }>(
      `SELECT string_agg(page_line, E'\\n' ORDER BY opened_at DESC, id DESC) AS page FROM (
         SELECT page_line, opened_at, id FROM ${this.s}.trades ${w}
         ORDER BY opened_at DESC, id DESC LIMIT $${params.length}) p`,
      params,
    );
    const text = read?.page ?? null;
    const rows = text === null ? [] : tradesFromLines(`${text}\n`);
    const more = rows.length > page.limit;
    const trades = more ? rows.slice(0, page.limit) : rows;
    const last = trades[trades.length - 1];
    return { trades, next_cursor: more && last !== undefined ? encodeCursor(last) : null };
  }

  async trade(id: string): Promise<{ trade: TradeRow; fills: FillRow[] } | undefined> {
    const [trade] = await this.client.query<TradeRow>(
      `SELECT ${TRADE_COLS} FROM ${this.s}.trades WHERE id = $1`,
      [id],
    );
    if (trade === undefined) return undefined;
    const fills = await this.client.query<FillRow>(
      `SELECT ${FILL_COLS} FROM ${this.s}.fills WHERE trade_id = $1 OR id = $2 ORDER BY ts, seq`,
      [id, trade.opening_fill_id],
    );
    return { trade, fills };
  }

  async profit(f: TradeFilter): Promise<ProfitGroup[]> {
    const params: unknown[] = [];
    const range: string[] = [];
    if (f.from !== undefined) {
      params.push(f.from);
      range.push(`closed_at >= $${params.length}`);
    }
    if (f.to !== undefined) {
      params.push(f.to);
      range.push(`closed_at <= $${params.length}`);
    }
    const inRange = range.length === 0 ? "" : `(status = 'open' OR (${range.join(" AND ")}))`;
    const w = where({ ...f, from: undefined, to: undefined }, params, "closed_at", inRange ? [inRange] : []);
    return this.client.query<ProfitGroup>(
      `SELECT strategy_id, symbol, venue,
        count(*) FILTER (WHERE status = 'closed') AS closed,
        count(*) FILTER (WHERE status = 'closed' AND realized_pnl > 0) AS wins,
        count(*) FILTER (WHERE status = 'closed' AND realized_pnl < 0) AS losses,
        coalesce(sum(realized_pnl), 0) AS realized_pnl,
        coalesce(sum(realized_pnl) FILTER (WHERE status = 'closed' AND realized_pnl > 0), 0) AS gross_profit,
        coalesce(-sum(realized_pnl) FILTER (WHERE status = 'closed' AND realized_pnl < 0), 0) AS gross_loss,
        coalesce(sum(fee_quote), 0) AS fee_quote,
        coalesce(sum(fee_base_quote), 0) AS fee_base_quote,
        coalesce(sum(entry_notional) FILTER (WHERE status = 'closed'), 0) AS entry_notional_closed,
        count(*) FILTER (WHERE status = 'open') AS open,
        coalesce(sum(open_qty) FILTER (WHERE status = 'open'), 0) AS open_qty,
        coalesce(sum(open_cost) FILTER (WHERE status = 'open'), 0) AS open_cost
       FROM ${this.s}.trades ${w}
       GROUP BY strategy_id, symbol, venue ORDER BY strategy_id, symbol, venue`,
      params,
    );
  }

  async performance(f: TradeFilter): Promise<PerformanceRow[]> {
    const params: unknown[] = [];
    const w = where(f, params, "closed_at", ["status = 'closed'"]);
    return this.client.query<PerformanceRow>(
      `SELECT symbol, count(*) AS count, sum(realized_pnl) AS profit_abs,
        sum(CASE WHEN entry_notional > 0 THEN realized_pnl / entry_notional ELSE 0 END) AS profit_ratio
       FROM ${this.s}.trades ${w} GROUP BY symbol ORDER BY profit_abs DESC, symbol`,
      params,
    );
  }

  async periodPnl(period: Period, f: TradeFilter, limit: number): Promise<PeriodRow[]> {
    const unit = { day: "day", week: "week", month: "month" }[period];
    const bucket = (col: string) =>
      `(extract(epoch FROM date_trunc('${unit}', to_timestamp(${col} / 1000.0) AT TIME ZONE 'UTC')) * 1000)::float8`;
    const fp: unknown[] = [];
    const fw = where(f, fp, "ts", [], "");
    const tp: unknown[] = [];
    const tw = where(f, tp, "closed_at", ["status = 'closed'"]);
    const [pnl, closed] = await Promise.all([
      this.client.query<{ start: number; realized_pnl: number; fees_quote: number }>(
        `SELECT ${bucket("ts")} AS start, sum(realized_pnl) AS realized_pnl,
          coalesce(sum(fee_cost) FILTER (WHERE fee_kind = 'quote'), 0) + coalesce(sum(fee_cost * price) FILTER (WHERE fee_kind = 'base'), 0) AS fees_quote
         FROM ${this.s}.fills ${fw} GROUP BY 1`,
        fp,
      ),
      this.client.query<{ start: number; trades: number; wins: number }>(
        `SELECT ${bucket("closed_at")} AS start, count(*) AS trades,
          count(*) FILTER (WHERE realized_pnl > 0) AS wins
         FROM ${this.s}.trades ${tw} GROUP BY 1`,
        tp,
      ),
    ]);
    const rows = new Map<number, PeriodRow>();
    const row = (start: number) => {
      let r = rows.get(start);
      if (r === undefined) {
        r = { start, trades: 0, wins: 0, realized_pnl: 0, fees_quote: 0 };
        rows.set(start, r);
      }
      return r;
    };
    for (const p of pnl)
      Object.assign(row(p.start), { realized_pnl: p.realized_pnl, fees_quote: p.fees_quote });
    for (const c of closed) Object.assign(row(c.start), { trades: c.trades, wins: c.wins });
    return [...rows.values()].sort((a, b) => b.start - a.start).slice(0, limit);
  }

  async balanceHistory(f: TradeFilter, bucketMs: number, limit: number): Promise<BalancePoint[]> {
    const params: unknown[] = [bucketMs];
    const w = where(f, params, "ts");
    const rows = await this.client.query<BalancePoint>(
      `SELECT at, realized_pnl, fees_quote, sum(realized_pnl) OVER (ORDER BY at) AS cumulative_pnl FROM (
         SELECT (floor(ts / $1::float8) + 1) * $1::float8 AS at, sum(realized_pnl) AS realized_pnl,
           coalesce(sum(fee_cost) FILTER (WHERE fee_kind = 'quote'), 0) + coalesce(sum(fee_cost * price) FILTER (WHERE fee_kind = 'base'), 0) AS fees_quote
         FROM ${this.s}.fills ${w} GROUP BY 1) b
       ORDER BY at`,
      params,
    );
    return rows.slice(Math.max(0, rows.length - limit));
  }

  positions(): Promise<PositionRow[]> {
    return this.client.query<PositionRow>(
      `SELECT * FROM ${this.s}.positions ORDER BY account, venue, symbol, strategy_id`,
    );
  }

  marks(): Promise<MarkRow[]> {
    return this.client.query<MarkRow>(`SELECT * FROM ${this.s}.marks ORDER BY venue, symbol`);
  }

  async lastSeq(): Promise<number> {
    const [r] = await this.client.query<{ seq: number | null }>(
      `SELECT max(seq) AS seq FROM ${this.s}.events`,
    );
    return r?.seq ?? 0;
  }

  async digests(): Promise<Record<string, TableDigest>> {
    const out: Record<string, TableDigest> = {};
    for (const t of ledgerTables) {
      const [r] = await this.client.query<TableDigest>(
        `SELECT count(*) AS rows, coalesce(md5(string_agg(x::text, '|' ORDER BY ${columns[t].key
          .map((k) => `x.${k}`)
          .join(", ")})), '') AS digest FROM ${this.s}.${t} x`,
      );
      out[t] = r ?? { rows: 0, digest: "" };
    }
    return out;
  }

  /**
   * Rebuilds the ledger from the events: projects `read(1)` into a fresh schema next to this one,
   * then, under this schema's apply lock, projects what arrived meanwhile (`read(last + 1)`) and
   * replaces this schema's tables with the fresh ones in one transaction. Live batches wait for the
   * lock and then find their events in the new inbox.
   */
  async rebuild(
    read: (fromSeq: number) => AsyncIterable<readonly LedgerEvent[]>,
  ): Promise<{ events: number; lastSeq: number }> {
    const freshName = `${this.schema}_rebuild`;
    await this.client.exec(`DROP SCHEMA IF EXISTS ${quoteSchema(freshName)} CASCADE`);
    const fresh = await SqlLedgerStore.open(this.client, { schema: freshName, ownsClient: false });
    let events = 0;
    let last = 0;
    for await (const batch of read(1)) {
      await fresh.apply(batch);
      events += batch.length;
      for (const e of batch) last = Math.max(last, e.seq);
    }
    await this.client.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [this.lockKey()]);
      for await (const batch of read(last + 1)) {
        await fresh.applyIn(tx, batch, true);
        events += batch.length;
        for (const e of batch) last = Math.max(last, e.seq);
      }
      for (const t of ledgerTables) {
        await tx.query(`DELETE FROM ${this.s}.${t}`);
        // Listed: a generated column (trades.page_line) takes no value of its own.
        const list = names(t).join(", ");
        await tx.query(`INSERT INTO ${this.s}.${t} (${list}) SELECT ${list} FROM ${fresh.s}.${t}`);
      }
    });
    await this.client.exec(`DROP SCHEMA IF EXISTS ${fresh.s} CASCADE`);
    return { events, lastSeq: last };
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }
}
