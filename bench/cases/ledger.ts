import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../core/config.ts";
import type { LedgerEvent } from "../../core/ledger/model.ts";
import type { TradeFilter } from "../../core/ports/ledger-store.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { createToolRegistry } from "../../core/tools/registry.ts";
import { fill, fillEvent, resetSeq } from "../../core/ledger/testing.ts";
import { openPglite, openPostgres, type SqlClient } from "../../functions/ledger/sql/client.ts";
import { SqlLedgerStore } from "../../functions/ledger/sql/store.ts";
import { ledgerTools } from "../../functions/ledger/tools.ts";
import { type BenchCase, type BenchResult, Recorder } from "../harness.ts";

/**
 * The trade ledger on PGlite and on PostgreSQL (POSTGRES_TEST_URL or 127.0.0.1:5432, a database of
 * its own, dropped afterwards):
 * - projection throughput: fills through `apply` — what the ledger's `handle` calls on each batch the
 *   trigger hands it (TRIGGER_BATCH_SIZE, 256 by default) — at 256 and at 1 000, after a warm-up of
 *   the same path (a fresh PGlite's WASM is still being optimised for its first seconds); by the wall
 *   clock and per CPU-second of this process plus, on a local PostgreSQL, of its backends;
 * - `get_trades` of 1 000 rows out of 1 000 000 (bulk-loaded with generate_series): p50 of pages
 *   with each filter, and of a page deep in the table by cursor, through the tool as the system
 *   serves it (input parse, store, trade view, output parse) and of the store's read alone.
 */
const SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT"];
const PRICES = [40_000, 3_000, 100, 0.5, 0.4];

/** Round trips on 5 symbols × 4 strategies: buy, buy, sell, sell (fees in base on buys, quote on sells). */
function fills(n: number): LedgerEvent[] {
  resetSeq();
  const out: LedgerEvent[] = [];
  for (let i = 0; i < n; i++) {
    const k = i % 20;
    const round = Math.floor(i / 20);
    const s = k % 5;
    const price = (PRICES[s] ?? 1) * (1 + 0.01 * Math.sin(round / 7));
    const buy = round % 4 < 2;
    const amount = 1;
    out.push(
      fillEvent(
        fill(`b${i}`, {
          symbol: SYMBOLS[s] ?? "BTC/USDT",
          side: buy ? "buy" : "sell",
          amount: buy ? amount : amount * 0.999,
          price,
          fee: buy
            ? [amount * 0.001, (SYMBOLS[s] ?? "BTC/USDT").split("/")[0] ?? "BTC"]
            : [price * amount * 0.001, "USDT"],
          strategyId: `s${Math.floor(k / 5)}`,
          timestamp: 1_700_000_000_000 + i * 1000,
        }),
      ),
    );
  }
  return out;
}

/** Process CPU seconds since `from` (user + system). */
const cpuSince = (from: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(from);
  return (c.user + c.system) / 1e6;
};

/** CPU seconds (user + system) of the PostgreSQL backends serving `db`, when they run on this machine. */
async function backendCpu(admin: SqlClient, db: string): Promise<number | undefined> {
  const rows = await admin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1", [
    db,
  ]);
  let ticks = 0;
  try {
    for (const r of rows) {
      const f = readFileSync(`/proc/${r.pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      ticks += Number(f[11]) + Number(f[12]);
    }
  } catch {
    return undefined; // not local, or not Linux
  }
  return ticks / 100; // USER_HZ
}

/**
 * Fills/s by the wall clock, and per second of CPU: this process's (on PGlite the whole pipeline:
 * the database runs in the process) plus, on PostgreSQL, its backends'. On a machine shared with
 * other work the CPU figure is the one that carries over. The first `warm` events are applied
 * first, unmeasured.
 */
async function projection(
  store: SqlLedgerStore,
  events: readonly LedgerEvent[],
  batch: number,
  warm: number,
  backend: () => Promise<number | undefined>,
) {
  for (let i = 0; i < warm; i += batch) await store.apply(events.slice(i, Math.min(warm, i + batch)));
  const b0 = await backend();
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (let i = warm; i < events.length; i += batch) await store.apply(events.slice(i, i + batch));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const own = cpuSince(cpu);
  const b1 = await backend();
  const n = events.length - warm;
  const server = b0 === undefined || b1 === undefined ? undefined : b1 - b0;
  return {
    wall: Math.round(n / seconds),
    cpu: Math.round(n / (own + (server ?? 0))),
    ...(server !== undefined ? { backendUsPerFill: Math.round((server * 1e7) / n) / 10 } : {}),
    fills: n,
  };
}

/**
 * 1 000 000 trades, server side: 20 strategies, 5 symbols, 2 accounts, 3 venues, 95 % closed, one
 * a second.
 */
async function loadTrades(client: SqlClient, rows: number): Promise<void> {
  await client.query(
    `INSERT INTO ledger.trades
     SELECT 't' || g, CASE WHEN g % 7 = 0 THEN 'other' ELSE 'default' END,
       (ARRAY['paper','binance','kraken'])[1 + g % 3],
       (ARRAY['BTC/USDT','ETH/USDT','SOL/USDT','XRP/USDT','ADA/USDT'])[1 + g % 5],
       's' || (g % 20), CASE WHEN g % 3 = 0 THEN 'short' ELSE 'long' END,
       CASE WHEN g % 20 = 7 THEN 'open' ELSE 'closed' END,
       ${T0} + g * 1000, CASE WHEN g % 20 = 7 THEN NULL ELSE ${T0} + g * 1000 + 60000 END,
       1, 100, 1, 101, 0, 0, 0.1, 0.001, 0.1, 0.8, 2, 'f' || g, 'f' || g || 'x', ${T0} + g * 1000
     FROM generate_series(1, $1::int) g`,
    [rows],
  );
  await client.exec("ANALYZE ledger.trades");
}

const T0 = 1_600_000_000_000;

/** The page's latency through `call` (p50 etc.) and this process's CPU per page, after a warm-up. */
async function pageLatency(call: () => Promise<{ trades: unknown[] }>, n: number) {
  const rec = new Recorder();
  for (let i = 0; i < 5; i++) await call();
  const cpu = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const page = await rec.time(call);
    if (page.trades.length !== 1000) throw new Error(`expected 1000 trades, got ${page.trades.length}`);
  }
  return { latency: rec.stats(), cpuMs: Math.round((cpuSince(cpu) * 1000 * 100) / n) / 100 };
}

/**
 * The database's own execution time of a page query (EXPLAIN ANALYZE), median of 5, in ms, and
 * how it reads the table (the scan of its plan: which index, or a sequential scan).
 */
async function serverPlan(client: SqlClient, where: string): Promise<{ ms: number; scan: string }> {
  const times: number[] = [];
  let scan = "";
  for (let i = 0; i < 5; i++) {
    const plan = (
      await client.query<{ "QUERY PLAN": string }>(
        `EXPLAIN ANALYZE SELECT * FROM ledger.trades ${where} ORDER BY opened_at DESC, id DESC LIMIT 1001`,
      )
    ).map((p) => p["QUERY PLAN"]);
    const line = plan.find((l) => l.startsWith("Execution Time"));
    times.push(Number(line?.match(/([\d.]+) ms/)?.[1] ?? Number.NaN));
    scan =
      plan
        .map((l) => l.match(/(Index Only Scan|Index Scan|Seq Scan|Bitmap Heap Scan)( using \w+)?/)?.[0])
        .find((m) => m !== undefined) ?? "?";
  }
  return { ms: times.sort((a, b) => a - b)[2] ?? Number.NaN, scan };
}

const MID = T0 + 500_000 * 1000;
/** get_trades arguments, and the same filter as SQL for the server-side plan. */
const PAGES: readonly [label: string, args: Record<string, unknown>, where: string][] = [
  ["newest", {}, ""],
  ["one strategy", { strategy: "s3" }, "WHERE strategy_id = 's3'"],
  [
    "one symbol, closed",
    { symbol: "ETH/USDT", status: "closed" },
    "WHERE status = 'closed' AND symbol = 'ETH/USDT'",
  ],
  ["one account", { account: "other" }, "WHERE account = 'other'"],
  ["one venue", { venue: "kraken" }, "WHERE venue = 'kraken'"],
  ["open", { status: "open" }, "WHERE status = 'open'"],
  ["strategy, open", { strategy: "s7", status: "open" }, "WHERE strategy_id = 's7' AND status = 'open'"],
  [
    "time range",
    { from: MID - 86_400_000, to: MID },
    `WHERE opened_at >= ${MID - 86_400_000} AND opened_at <= ${MID}`,
  ],
  [
    "deep cursor (500 000 in)",
    { cursor: Buffer.from(`${MID}:t500000`).toString("base64url") },
    `WHERE (opened_at, id) < (${MID}, 't500000')`,
  ],
];

const load1 = () => Math.round(loadavg()[0] ?? 0);

/** Projection throughput into `client`, in a schema per batch size. */
async function projectionCases(
  name: string,
  client: SqlClient,
  events: readonly LedgerEvent[],
  warm: number,
  backend: () => Promise<number | undefined>,
): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const batch of [256, 1000]) {
    const store = await SqlLedgerStore.open(client, { schema: `bench_${batch}`, ownsClient: false });
    const r = await projection(store, events, batch, warm, backend);
    const d = await store.digests();
    results.push({
      case: `ledger: projection into ${name}, batches of ${batch}`,
      unit: "fills/s",
      throughput: r.wall,
      notes: {
        fills_per_cpu_s: r.cpu,
        ...(r.backendUsPerFill !== undefined ? { backend_us_per_fill: r.backendUsPerFill } : {}),
        fills: r.fills,
        trades: d.trades?.rows ?? 0,
        target: 20_000,
        load1: load1(),
      },
    });
  }
  return results;
}

const ctx = {
  requestId: "bench",
  correlationId: "bench",
  transport: "local" as const,
  logger: quietLogger("bench-ledger"),
};

/** get_trades pages of 1 000 out of `trades` bulk-loaded ones, through the tool and the store. */
async function pageCases(name: string, client: SqlClient, trades: number, log: (line: string) => void) {
  const results: BenchResult[] = [];
  const store = await SqlLedgerStore.open(client, { ownsClient: false });
  const t1 = Date.now();
  await loadTrades(client, trades);
  log(`${name}: ${trades} trades loaded in ${Date.now() - t1} ms`);
  const tools = createToolRegistry(
    "ledger",
    ledgerTools({
      config: loadConfig({}),
      store: async () => store,
      bus: () => Promise.reject(new Error("no bus in this bench")),
    }),
  );
  for (const [label, args, where] of PAGES) {
    const tool = await pageLatency(
      async () => (await tools.call("get_trades", { ...args, limit: 1000 }, ctx)) as { trades: unknown[] },
      30,
    );
    const { cursor, ...filter } = args as TradeFilter & { cursor?: string };
    const read = await pageLatency(
      () => store.trades(filter, { limit: 1000, ...(cursor !== undefined ? { cursor } : {}) }),
      30,
    );
    const plan = await serverPlan(client, where);
    results.push({
      case: `ledger: get_trades 1000 of 1M on ${name}, ${label}`,
      unit: "pages",
      latency: tool.latency,
      notes: {
        store_p50_ms: Math.round(read.latency.p50_us / 10) / 100,
        server_exec_ms: plan.ms,
        plan: plan.scan,
        cpu_ms_per_page: tool.cpuMs,
        store_cpu_ms_per_page: read.cpuMs,
        target_p50_ms: 5,
        load1: load1(),
      },
    });
  }
  return results;
}

const ledgerCase: BenchCase = {
  name: "ledger",
  order: 35,
  async run({ scale, log }) {
    const results: BenchResult[] = [];
    const adminUrl = process.env.POSTGRES_TEST_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
    const dbName = `bot4_bench_ledger_${randomUUID().slice(0, 8)}`;
    const dir = mkdtempSync(join(tmpdir(), "bot4-bench-ledger-"));
    const admin = await openPostgres(adminUrl, { max: 1 });
    await admin.exec(`CREATE DATABASE "${dbName}"`);
    const pgUrl = new URL(adminUrl);
    pgUrl.pathname = `/${dbName}`;
    const events = fills(Math.round(60_000 * scale));
    const warm = Math.round(10_000 * scale);
    try {
      for (const [name, open] of [
        ["pglite", () => openPglite(join(dir, "ledger"))],
        ["postgres", () => openPostgres(pgUrl.toString())],
      ] as const) {
        const t0 = Date.now();
        const client = await open();
        const backend = async () => (name === "postgres" ? backendCpu(admin, dbName) : undefined);
        try {
          log(`${name}: opened in ${Date.now() - t0} ms`);
          results.push(...(await projectionCases(name, client, events, warm, backend)));
          results.push(...(await pageCases(name, client, 1_000_000, log)));
        } finally {
          await client.close();
        }
      }
    } finally {
      await admin.exec(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
      await admin.close();
      rmSync(dir, { recursive: true, force: true });
    }
    return results;
  },
};

export default ledgerCase;
