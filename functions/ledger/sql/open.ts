import { join } from "node:path";
import type { Config } from "../../../core/config.ts";
import type { LedgerStore } from "../../../core/ports/ledger-store.ts";
import { openPglite, openPostgres } from "./client.ts";
import { SqlLedgerStore } from "./store.ts";

/** Where the ledger's data lives: PostgreSQL when POSTGRES_URL is set, else PGlite under BOT4_DATA_DIR. */
export function ledgerTarget(config: Pick<Config, "POSTGRES_URL" | "BOT4_DATA_DIR">): {
  kind: "postgres" | "pglite";
  where: string;
} {
  return config.POSTGRES_URL !== undefined
    ? { kind: "postgres", where: config.POSTGRES_URL }
    : { kind: "pglite", where: join(config.BOT4_DATA_DIR, "ledger") };
}

/** Opens the ledger store of a configuration (migrating it). The caller owns and closes it. */
export async function openLedgerStore(
  config: Pick<Config, "POSTGRES_URL" | "BOT4_DATA_DIR">,
  env: Record<string, string | undefined> = process.env,
): Promise<SqlLedgerStore> {
  const target = ledgerTarget(config);
  if (target.kind === "pglite" && env.AWS_LAMBDA_FUNCTION_NAME !== undefined) {
    // A Lambda's disk is its own and short-lived: an embedded database there would lose the ledger.
    throw new Error("the ledger's Lambda needs POSTGRES_URL (PGlite is the local, single-process default)");
  }
  const client =
    target.kind === "postgres" ? await openPostgres(target.where) : await openPglite(target.where);
  try {
    return await SqlLedgerStore.open(client);
  } catch (err) {
    await client.close().catch(() => undefined);
    throw err;
  }
}

const shared = new Map<string, Promise<LedgerStore>>();

/**
 * The process's one store per target (PGlite must be opened once per process; the trigger and the
 * tools share it). A failed open is forgotten so the next call tries again.
 */
export function sharedLedgerStore(
  config: Pick<Config, "POSTGRES_URL" | "BOT4_DATA_DIR">,
): Promise<LedgerStore> {
  const t = ledgerTarget(config);
  const key = `${t.kind}:${t.where}`;
  let store = shared.get(key);
  if (store === undefined) {
    store = openLedgerStore(config);
    shared.set(key, store);
    store.catch(() => shared.delete(key));
  }
  return store;
}

/**
 * Closes and forgets every shared store (tests, shutdown). A store still opening (a first PGlite
 * open takes seconds) is not waited for beyond `waitMs`: its worker thread does not keep the process.
 */
export async function closeSharedLedgerStores(waitMs = 3_000): Promise<void> {
  const all = [...shared.values()];
  shared.clear();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(all.map(async (s) => (await s.catch(() => undefined))?.close())),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
    }),
  ]);
  clearTimeout(timer);
}
