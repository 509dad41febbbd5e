import { mkdirSync } from "node:fs";
import { Worker } from "node:worker_threads";

/**
 * The little the ledger's SQL needs from a database driver: parameterised queries (`$1`…), a script,
 * and a transaction. Two adapters: PGlite (Postgres in WASM, a directory as its store) and PostgreSQL
 * through `postgres` (porsager). Both parse int8 (`count(*)`, bigint columns) as JS numbers.
 */
export interface SqlClient {
  readonly kind: "pglite" | "postgres";
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a script of several statements (no parameters). */
  exec(text: string): Promise<void>;
  /**
   * Appends rows to `table` (a plain INSERT, no ON CONFLICT: a row whose key exists fails the
   * statement, SQLSTATE 23505). `columns` is the column list with SQL types (`id text, seq bigint`).
   * PGlite takes them with COPY (`FROM '/dev/blob'`, text format: in WASM several times cheaper
   * than parsing JSON); PostgreSQL with one INSERT … SELECT FROM json_to_recordset.
   */
  appendRows(table: string, columns: string, rows: readonly object[]): Promise<void>;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const COPY_ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };
const COPY_SPECIAL = /[\\\t\n\r]/g;

/** Whether `t` holds a character COPY's text format escapes (by its code: cheaper than a regex call). */
function hasSpecial(t: string): boolean {
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === BACKSLASH || c === TAB || c === NEWLINE || c === RETURN) return true;
  }
  return false;
}

const BACKSLASH = 92;
const TAB = 9;
const NEWLINE = 10;
const RETURN = 13;

/** One COPY text-format field: backslash, tab, newline and carriage return escaped; null is `\N`. */
function copyField(v: unknown): string {
  if (v === null || v === undefined) return "\\N";
  if (typeof v === "number") return String(v);
  const t = typeof v === "string" ? v : String(v);
  return hasSpecial(t) ? t.replace(COPY_SPECIAL, (c) => COPY_ESCAPES[c] ?? c) : t;
}

/**
 * Rows in COPY's text format, `columns` in order. Numbers go as JavaScript prints them, the shortest
 * text that reads back as the same double, so a float8 column holds exactly the value of the row.
 */
export function copyText(rows: readonly object[], columns: readonly string[]): string {
  let out = "";
  for (const r of rows as readonly Record<string, unknown>[]) {
    let line = copyField(r[columns[0] ?? ""]);
    for (let i = 1; i < columns.length; i++) line += `\t${copyField(r[columns[i] ?? ""])}`;
    out += `${line}\n`;
  }
  return out;
}

/** The names of a typed column list (`id text, seq bigint` → id, seq). */
export const columnNames = (columns: string): string[] =>
  columns
    .split(",")
    .map((c) => c.trim().split(/\s+/)[0] ?? "")
    .filter((c) => c.length > 0);

/**
 * A parameter as an SQL literal for `EXECUTE name(…)` in the simple protocol: `'text'` with quotes
 * doubled (the connection keeps standard_conforming_strings on, so a backslash is an ordinary
 * character), NULL for null. The literal is untyped, so the prepared statement's parameter type
 * (inferred from the statement, as for a bound parameter) reads it.
 */
export function sqlLiteral(v: unknown): string {
  if (v === null || v === undefined) return "NULL";
  let t: string;
  if (typeof v === "string") t = v;
  else if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") t = String(v);
  else
    throw new TypeError(
      `an SQL parameter must be a string, number, bigint, boolean or null, not ${typeof v}`,
    );
  if (t.includes("\u0000")) throw new SqlError("a text parameter cannot contain the character NUL", "22021");
  return `'${t.replaceAll("'", "''")}'`;
}

/**
 * Settings of every connection, the same on both engines (PGlite: SET at open; PostgreSQL: startup
 * parameters). `standard_conforming_strings` on is what {@link sqlLiteral} relies on (PGlite's
 * EXECUTE takes its parameters as literals). `extra_float_digits` 1 (PostgreSQL's default, pinned
 * against a server configured otherwise) prints a float8 as the shortest text that reads back as
 * the same double: what the trades' stored page lines hold (migrations.ts, v4), printed when the
 * row is written, so a page reads back exactly the values of its columns. A random page costs 1.1: the default 4 prices a disk
 * seek, while PGlite's pages are in memory and a ledger on PostgreSQL is served from its cache; at 4
 * the planner judges the index on (strategy_id, opened_at) too dear, because one strategy's trades
 * are scattered over the table, and pages `WHERE strategy_id = …` by walking the time index and
 * filtering 19 of every 20 rows (PGlite ≈ 9 ms for a 1 000-row page of 1 000 000 trades instead of
 * ≈ 2); the same for one symbol among the closed.
 */
const SESSION = {
  standard_conforming_strings: "on",
  extra_float_digits: "1",
  random_page_cost: "1.1",
} as const;
const sessionSettings = Object.entries(SESSION)
  .map(([k, v]) => `SET ${k} = ${v};`)
  .join("\n");

/** Most statements PGlite keeps prepared; past it they are all deallocated and prepared again on use. */
const MAX_PREPARED = 256;

const INT8 = 20;
const toNumber = (v: string) => Number(v);

interface WorkerReply {
  id?: number;
  ready?: boolean;
  rows?: unknown[];
  error?: { message: string; code?: string };
}

/** An error from the database, with its SQLSTATE when there is one. */
export class SqlError extends Error {
  override name = "SqlError";
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

type Send = (msg: {
  op: string;
  text?: string;
  params?: readonly unknown[];
  data?: string;
}) => Promise<WorkerReply>;

/** The PGlite worker thread for `dir`, and `send`: one request, its reply (or the worker's failure). */
function startWorker(dir: string): {
  worker: Worker;
  ready: Promise<void>;
  send: Send;
  failed: () => boolean;
} {
  const worker = new Worker(new URL("./pglite-worker.mjs", import.meta.url), { workerData: { dir } });
  worker.unref();
  let next = 0;
  const pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  let failed: Error | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    worker.on("message", (m: WorkerReply) => {
      if (m.ready !== undefined) {
        if (m.ready) resolve();
        else reject(new SqlError(`PGlite could not open ${dir}: ${m.error?.message ?? "unknown error"}`));
        return;
      }
      const p = m.id === undefined ? undefined : pending.get(m.id);
      if (p === undefined || m.id === undefined) return;
      pending.delete(m.id);
      if (m.error !== undefined) p.reject(new SqlError(m.error.message, m.error.code));
      else p.resolve(m);
    });
    const fail = (err: Error) => {
      failed = err;
      reject(err);
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new SqlError(`the PGlite worker exited (code ${code})`)));
  });
  const send: Send = (msg) =>
    new Promise<WorkerReply>((resolve, reject) => {
      if (failed !== undefined) {
        reject(failed);
        return;
      }
      const id = ++next;
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...msg, id });
    });
  return { worker, ready, send, failed: () => failed !== undefined };
}

/**
 * The statements on the PGlite worker, unserialised. Statements with parameters are prepared once
 * (PREPARE, session-wide, kept across rollbacks) and run with EXECUTE: parsing and planning a
 * statement in WASM costs more than running it.
 */
function pgliteStatements(send: Send): Omit<SqlClient, "kind" | "transaction" | "close"> {
  const prepared = new Map<string, string>();
  let named = 0;
  // A transaction's statements may be in flight together, and the worker runs requests in the
  // order they are posted: so a call posts everything it needs at once (a new statement's PREPARE
  // and its EXECUTE back to back), ahead of whatever is called after it.
  const prepare = (text: string): { name: string; done: Promise<unknown> } => {
    if (prepared.size >= MAX_PREPARED) {
      prepared.clear();
      // Only fails in a transaction that failed already (then the old statements stay allocated).
      send({ op: "exec", text: "DEALLOCATE ALL" }).catch(() => undefined);
    }
    const name = `bot4_stmt_${++named}`;
    prepared.set(text, name);
    const done = send({ op: "exec", text: `PREPARE ${name} AS ${text}` }).catch((err: unknown) => {
      if (prepared.get(text) === name) prepared.delete(text);
      throw err;
    });
    return { name, done };
  };
  return {
    query: async <T>(text: string, params: readonly unknown[] = []) => {
      if (params.length === 0) return ((await send({ op: "query", text, params: [] })).rows ?? []) as T[];
      const known = prepared.get(text);
      const fresh = known === undefined ? prepare(text) : undefined;
      const execute = `EXECUTE ${known ?? fresh?.name}(${params.map(sqlLiteral).join(", ")})`;
      // A failed PREPARE fails its EXECUTE too; its error is the one thrown (it comes first).
      const [, reply] = await Promise.all([fresh?.done, send({ op: "execute", text: execute })]);
      return (reply.rows ?? []) as T[];
    },
    exec: async (text: string) => {
      await send({ op: "exec", text });
    },
    appendRows: async (table: string, columns: string, rows: readonly object[]) => {
      const list = columnNames(columns);
      const text = `COPY ${table} (${list.join(", ")}) FROM '/dev/blob'`;
      await send({ op: "copy", text, data: copyText(rows, list) });
    },
  };
}

/**
 * PGlite with its data in `dir` (created if missing), run in a worker thread
 * (`pglite-worker.mjs`): creating the database takes seconds of synchronous WASM that would otherwise
 * stall this process's event loop. PGlite has one connection, so every call here is serialised and a
 * transaction (BEGIN … COMMIT) holds it until it ends. Open it once per process and data directory.
 */
export async function openPglite(dir: string): Promise<SqlClient> {
  mkdirSync(dir, { recursive: true });
  const { worker, ready, send, failed } = startWorker(dir);
  let chain: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  };
  const raw = pgliteStatements(send);
  const inTx: SqlClient = {
    kind: "pglite",
    ...raw,
    transaction: () => Promise.reject(new Error("nested transactions are not supported")),
    close: async () => {},
  };
  try {
    await ready;
    await raw.exec(sessionSettings);
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  return {
    kind: "pglite",
    query: (text, params) => exclusive(() => raw.query(text, params)),
    exec: (text) => exclusive(() => raw.exec(text)),
    appendRows: (table, columns, rows) => exclusive(() => raw.appendRows(table, columns, rows)),
    transaction: (fn) =>
      exclusive(async () => {
        await raw.exec("BEGIN");
        try {
          const out = await fn(inTx);
          await raw.exec("COMMIT");
          return out;
        } catch (err) {
          await raw.exec("ROLLBACK").catch(() => undefined);
          throw err;
        }
      }),
    close: () =>
      exclusive(async () => {
        if (!failed()) await send({ op: "close" }).catch(() => undefined);
        await worker.terminate();
      }),
  };
}

/** PostgreSQL at `url` (postgres://…), a small pool. */
export async function openPostgres(url: string, options: { max?: number } = {}): Promise<SqlClient> {
  const { default: postgres } = await import("postgres");
  const sql = postgres(url, {
    max: options.max ?? 4,
    onnotice: () => {},
    connection: SESSION,
    types: {
      int8: {
        to: INT8,
        from: [INT8],
        serialize: (x: number) => String(x),
        parse: toNumber,
      },
    },
  });
  type Sql = { unsafe: (typeof sql)["unsafe"] };
  const wrap = (s: Sql, transaction: SqlClient["transaction"], close: () => Promise<void>): SqlClient => ({
    kind: "postgres",
    async query<T>(text: string, params: readonly unknown[] = []) {
      // Prepared (named, cached per connection by postgres): one round trip and no planning from the
      // second call on; unprepared, every call is a Parse/Describe round trip and then the Execute.
      return (await s.unsafe(text, [...params] as never[], {
        prepare: params.length > 0,
      })) as unknown as T[];
    },
    async exec(text: string) {
      await s.unsafe(text).simple();
    },
    async appendRows(table: string, columns: string, rows: readonly object[]) {
      const list = columnNames(columns).join(", ");
      await s.unsafe(
        `INSERT INTO ${table} (${list}) SELECT ${list} FROM json_to_recordset($1::text::json) AS x(${columns})`,
        [JSON.stringify(rows)],
        { prepare: true },
      );
    },
    transaction,
    close,
  });
  return wrap(
    sql,
    async (fn) =>
      (await sql.begin((tx) =>
        fn(
          wrap(
            tx as unknown as Sql,
            () => Promise.reject(new Error("nested transactions are not supported")),
            async () => {},
          ),
        ),
      )) as Awaited<ReturnType<typeof fn>>,
    () => sql.end({ timeout: 5 }),
  );
}
