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

/** One COPY text-format field: backslash, tab, newline and carriage return escaped; null is `\N`. */
function copyField(v: unknown): string {
  if (v === null || v === undefined) return "\\N";
  if (typeof v === "number") return String(v);
  const t = typeof v === "string" ? v : String(v);
  return t.replace(COPY_SPECIAL, (c) => COPY_ESCAPES[c] ?? c);
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

/**
 * PGlite with its data in `dir` (created if missing), run in a worker thread
 * (`pglite-worker.mjs`): creating the database takes seconds of synchronous WASM that would otherwise
 * stall this process's event loop. PGlite has one connection, so every call here is serialised and a
 * transaction (BEGIN … COMMIT) holds it until it ends. Open it once per process and data directory.
 */
export async function openPglite(dir: string): Promise<SqlClient> {
  mkdirSync(dir, { recursive: true });
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
  const send = (msg: { op: string; text?: string; params?: readonly unknown[]; data?: string }) =>
    new Promise<WorkerReply>((resolve, reject) => {
      if (failed !== undefined) {
        reject(failed);
        return;
      }
      const id = ++next;
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...msg, id });
    });
  let chain: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  };
  const raw = {
    query: async <T>(text: string, params: readonly unknown[] = []) =>
      ((await send({ op: "query", text, params: [...params] })).rows ?? []) as T[],
    exec: async (text: string) => {
      await send({ op: "exec", text });
    },
    appendRows: async (table: string, columns: string, rows: readonly object[]) => {
      const list = columnNames(columns);
      const text = `COPY ${table} (${list.join(", ")}) FROM '/dev/blob'`;
      await send({ op: "copy", text, data: copyText(rows, list) });
    },
  };
  const inTx: SqlClient = {
    kind: "pglite",
    query: raw.query,
    exec: raw.exec,
    appendRows: raw.appendRows,
    transaction: () => Promise.reject(new Error("nested transactions are not supported")),
    close: async () => {},
  };
  try {
    await ready;
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
        if (failed === undefined) await send({ op: "close" }).catch(() => undefined);
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
      return (await s.unsafe(text, [...params] as never[])) as unknown as T[];
    },
    async exec(text: string) {
      await s.unsafe(text).simple();
    },
    async appendRows(table: string, columns: string, rows: readonly object[]) {
      const list = columnNames(columns).join(", ");
      await s.unsafe(
        `INSERT INTO ${table} (${list}) SELECT ${list} FROM json_to_recordset($1::text::json) AS x(${columns})`,
        [JSON.stringify(rows)],
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
