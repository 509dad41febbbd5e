// PGlite in a worker thread (functions/ledger/sql/client.ts starts it): Postgres in WASM runs long
// synchronous stretches (creating a database: seconds), which must not block the event loop of the
// process that also serves tools, heartbeats and the trigger. Plain JavaScript so that it loads in
// any runner (tsx, vitest, a bundle) without a TypeScript loader.
import { parentPort, workerData } from "node:worker_threads";
import { PGlite } from "@electric-sql/pglite";

const INT8 = 20;
const port = parentPort;
if (port === null) throw new Error("pglite-worker.mjs runs as a worker thread");

const errorOf = (err) => ({
  message: err instanceof Error ? err.message : String(err),
  code: typeof err?.code === "string" ? err.code : undefined,
});

let db;
try {
  db = await PGlite.create(workerData.dir, { parsers: { [INT8]: (v) => Number(v) } });
  port.postMessage({ ready: true });
} catch (err) {
  port.postMessage({ ready: false, error: errorOf(err) });
}

/** One request: its reply posted (its rows, or its error). */
async function handle(m) {
  try {
    if (m.op === "query") {
      const r = await db.query(m.text, m.params ?? []);
      port.postMessage({ id: m.id, rows: r.rows });
    } else if (m.op === "exec") {
      await db.exec(m.text);
      port.postMessage({ id: m.id });
    } else if (m.op === "execute") {
      // One statement in the simple protocol (EXECUTE of a prepared statement): its rows.
      const results = await db.exec(m.text);
      port.postMessage({ id: m.id, rows: results[results.length - 1]?.rows ?? [] });
    } else if (m.op === "copy") {
      // COPY … FROM '/dev/blob' reads the rows from the blob (PGlite's stand-in for STDIN).
      await db.query(m.text, [], { blob: new Blob([m.data]) });
      port.postMessage({ id: m.id });
    } else if (m.op === "close") {
      await db.close();
      port.postMessage({ id: m.id });
    } else {
      port.postMessage({ id: m.id, error: { message: `unknown op ${m.op}` } });
    }
  } catch (err) {
    port.postMessage({ id: m.id, error: errorOf(err) });
  }
}

// Requests run one after another in the order they arrive: the client sends the statements of a
// transaction back to back without waiting for each reply, and relies on that order.
let queue = Promise.resolve();
port.on("message", (m) => {
  queue = queue.then(() => handle(m));
});
