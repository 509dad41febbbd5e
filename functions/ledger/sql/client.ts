import { mkdirSync } from "node:fs";

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
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const INT8 = 20;
const toNumber = (v: string) => Number(v);

interface PgliteLike {
  query<T>(text: string, params?: unknown[]): Promise<{ rows: T[] }>;
  exec(text: string): Promise<unknown>;
}

function pgliteClient(
  db: PgliteLike,
  transaction: SqlClient["transaction"],
  close: () => Promise<void>,
): SqlClient {
  return {
    kind: "pglite",
    async query<T>(text: string, params: readonly unknown[] = []) {
      return (await db.query<T>(text, [...params])).rows;
    },
    async exec(text: string) {
      await db.exec(text);
    },
    transaction,
    close,
  };
}

/** PGlite with its data in `dir` (created if missing). Open it once per process. */
export async function openPglite(dir: string): Promise<SqlClient> {
  mkdirSync(dir, { recursive: true });
  const { PGlite } = await import("@electric-sql/pglite");
  const db = await PGlite.create(dir, { parsers: { [INT8]: toNumber } });
  const root: SqlClient = pgliteClient(
    db,
    (fn) =>
      db.transaction((tx) =>
        fn(
          pgliteClient(
            tx,
            () => Promise.reject(new Error("nested transactions are not supported")),
            async () => {},
          ),
        ),
      ),
    () => db.close(),
  );
  return root;
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
