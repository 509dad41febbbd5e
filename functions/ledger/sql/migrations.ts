import type { SqlClient } from "./client.ts";

/**
 * The ledger's schema as versioned migrations, the same for PGlite and PostgreSQL. `{s}` is the
 * schema (quoted identifier). A migration, once released, never changes: a change is a new version.
 * Applied versions are recorded in `{s}.ledger_migrations`; `migrate` applies the missing ones in
 * order, each in its own transaction, under an advisory lock so two processes never race.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: "orders, fills, trades, positions, marks and the event inbox",
    sql: `
CREATE TABLE {s}.events (
  id text PRIMARY KEY,
  seq bigint NOT NULL,
  type text NOT NULL,
  time bigint NOT NULL
);
CREATE TABLE {s}.orders (
  id text PRIMARY KEY,
  event_id text NOT NULL,
  client_order_id text NOT NULL,
  account text NOT NULL,
  venue text NOT NULL,
  symbol text NOT NULL,
  strategy_id text NOT NULL,
  side text NOT NULL,
  type text NOT NULL,
  amount double precision NOT NULL,
  price double precision,
  stop_price double precision,
  status text NOT NULL,
  filled double precision NOT NULL,
  remaining double precision NOT NULL,
  average_price double precision,
  fee_currency text,
  fee_cost double precision,
  reason text,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL
);
CREATE INDEX orders_by_time ON {s}.orders (created_at DESC);
CREATE TABLE {s}.fills (
  id text PRIMARY KEY,
  event_id text NOT NULL,
  seq bigint NOT NULL,
  order_id text NOT NULL,
  client_order_id text NOT NULL,
  account text NOT NULL,
  venue text NOT NULL,
  symbol text NOT NULL,
  strategy_id text NOT NULL,
  side text NOT NULL,
  amount double precision NOT NULL,
  price double precision NOT NULL,
  fee_currency text NOT NULL,
  fee_cost double precision NOT NULL,
  fee_kind text NOT NULL,
  liquidity text NOT NULL,
  ts bigint NOT NULL,
  trade_id text NOT NULL,
  realized_pnl double precision NOT NULL
);
CREATE INDEX fills_by_trade ON {s}.fills (trade_id);
CREATE INDEX fills_by_time ON {s}.fills (ts);
CREATE TABLE {s}.trades (
  id text PRIMARY KEY,
  account text NOT NULL,
  venue text NOT NULL,
  symbol text NOT NULL,
  strategy_id text NOT NULL,
  side text NOT NULL,
  status text NOT NULL,
  opened_at bigint NOT NULL,
  closed_at bigint,
  entry_qty double precision NOT NULL,
  entry_notional double precision NOT NULL,
  exit_qty double precision NOT NULL,
  exit_notional double precision NOT NULL,
  open_qty double precision NOT NULL,
  open_cost double precision NOT NULL,
  fee_quote double precision NOT NULL,
  fee_base double precision NOT NULL,
  fee_base_quote double precision NOT NULL,
  realized_pnl double precision NOT NULL,
  fills integer NOT NULL,
  opening_fill_id text NOT NULL,
  closing_fill_id text,
  updated_at bigint NOT NULL
);
CREATE INDEX trades_by_open ON {s}.trades (opened_at DESC, id DESC);
CREATE INDEX trades_by_strategy ON {s}.trades (strategy_id, opened_at DESC, id DESC);
CREATE INDEX trades_by_symbol ON {s}.trades (symbol, opened_at DESC, id DESC);
CREATE INDEX trades_by_account ON {s}.trades (account, venue, opened_at DESC, id DESC);
CREATE INDEX trades_by_close ON {s}.trades (closed_at) WHERE status = 'closed';
CREATE INDEX trades_open ON {s}.trades (symbol) WHERE status = 'open';
CREATE TABLE {s}.positions (
  account text NOT NULL,
  venue text NOT NULL,
  symbol text NOT NULL,
  strategy_id text NOT NULL,
  amount double precision NOT NULL,
  cost double precision NOT NULL,
  realized_pnl double precision NOT NULL,
  fee_quote double precision NOT NULL,
  fee_base double precision NOT NULL,
  trades_closed integer NOT NULL,
  open_trade_id text,
  updated_at bigint NOT NULL,
  PRIMARY KEY (account, venue, symbol, strategy_id)
);
CREATE TABLE {s}.marks (
  venue text NOT NULL,
  symbol text NOT NULL,
  price double precision NOT NULL,
  ts bigint NOT NULL,
  PRIMARY KEY (venue, symbol)
);
`,
  },
  {
    version: 2,
    name: "open trades by time and by strategy (get_trades status=open without scanning the closed ones)",
    sql: `
CREATE INDEX trades_open_by_open ON {s}.trades (opened_at DESC, id DESC) WHERE status = 'open';
CREATE INDEX trades_open_by_strategy ON {s}.trades (strategy_id, opened_at DESC, id DESC) WHERE status = 'open';
`,
  },
  {
    version: 3,
    name: "get_trades by account, by venue and by symbol among the closed in page order (an index scan that stops at the page)",
    sql: `
DROP INDEX {s}.trades_by_account;
CREATE INDEX trades_by_account ON {s}.trades (account, opened_at DESC, id DESC);
CREATE INDEX trades_by_venue ON {s}.trades (venue, opened_at DESC, id DESC);
CREATE INDEX trades_closed_by_symbol ON {s}.trades (symbol, opened_at DESC, id DESC) WHERE status = 'closed';
`,
  },
  {
    version: 4,
    name: "each trade's page line: its columns as one line of COPY text, kept by the database (get_trades reads one field a row)",
    sql: `ALTER TABLE {s}.trades ADD COLUMN page_line text GENERATED ALWAYS AS (${pageLine()}) STORED;`,
  },
];

/**
 * The expression of v4's `page_line`: the trade's 23 columns (in the order of the store's column
 * list) as one line of COPY's text format without its newline — text escaped (backslash, tab,
 * newline), numbers as their output function prints them, NULL as `\N` — so that a page is the
 * lines of its rows joined by newlines, which the store reads with its COPY-text reader. Made by the
 * database at every write of the row (a stored generated column), it cannot disagree with the
 * columns; printing 23 fields per row at each read was most of a page's time in PGlite's WASM.
 * The numbers print under the writing session's extra_float_digits, which the store's connections
 * pin to 1 (shortest exact text, PostgreSQL's default) — the same text a COPY of the column prints.
 */
function pageLine(): string {
  const text = (c: string) => `replace(replace(replace(${c}, '\\', '\\\\'), E'\\t', '\\t'), E'\\n', '\\n')`;
  const fields = [
    ...["id", "account", "venue", "symbol", "strategy_id", "side", "status"].map(text),
    "opened_at::text",
    "coalesce(closed_at::text, '\\N')",
    ...[
      "entry_qty",
      "entry_notional",
      "exit_qty",
      "exit_notional",
      "open_qty",
      "open_cost",
      "fee_quote",
      "fee_base",
      "fee_base_quote",
      "realized_pnl",
      "fills",
    ].map((c) => `${c}::text`),
    text("opening_fill_id"),
    `coalesce(${text("closing_fill_id")}, '\\N')`,
    "updated_at::text",
  ];
  return fields.join(" || E'\\t' || ");
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/** The schema name, checked and quoted (it is spliced into SQL text). */
export function quoteSchema(schema: string): string {
  if (!IDENT.test(schema)) throw new Error(`invalid ledger schema name "${schema}"`);
  return `"${schema}"`;
}

export const inSchema = (sql: string, schema: string) => sql.replaceAll("{s}", quoteSchema(schema));

/** Applies the missing migrations; returns the versions applied now. */
export async function migrate(client: SqlClient, schema: string): Promise<number[]> {
  const s = quoteSchema(schema);
  await client.exec(
    `CREATE SCHEMA IF NOT EXISTS ${s};
     CREATE TABLE IF NOT EXISTS ${s}.ledger_migrations (
       version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL);`,
  );
  const applied: number[] = [];
  for (const m of migrations) {
    const done = await client.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`bot4.ledger.migrate.${schema}`]);
      const rows = await tx.query<{ version: number }>(
        `SELECT version FROM ${s}.ledger_migrations WHERE version = $1`,
        [m.version],
      );
      if (rows.length > 0) return false;
      await tx.exec(inSchema(m.sql, schema));
      await tx.query(`INSERT INTO ${s}.ledger_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, [
        m.version,
        m.name,
        Date.now(),
      ]);
      return true;
    });
    if (done) applied.push(m.version);
  }
  return applied;
}
