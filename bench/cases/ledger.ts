import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { LedgerEvent } from "../../core/ledger/model.ts";
import { fill, fillEvent, resetSeq } from "../../core/ledger/testing.ts";
import { openPglite, openPostgres, type SqlClient } from "../../functions/ledger/sql/client.ts";
import { SqlLedgerStore } from "../../functions/ledger/sql/store.ts";
import { type BenchCase, type BenchResult, Recorder } from "../harness.ts";

/**
 * The trade ledger on PGlite and on PostgreSQL (POSTGRES_TEST_URL or 127.0.0.1:5432, a database of
 * its own, dropped afterwards):
 * - projection throughput: fills through `apply` (the inbox, the positions they touch, multi-row
 *   upserts, one transaction per batch) at the trigger's batch size and at 1 000;
 * - `get_trades` of 1 000 rows out of 1 000 000 (bulk-loaded with generate_series): p50 of the
 *   newest page, of one strategy, and of one symbol's closed trades.
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

/**
 * Fills/s by the wall clock, and per second of this process's CPU: on PGlite that is the whole
 * pipeline (the database runs in the process), on PostgreSQL the client's share only. On a machine
 * shared with other work the CPU figure is the one that carries over.
 */
async function projection(store: SqlLedgerStore, events: readonly LedgerEvent[], batch: number) {
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (let i = 0; i < events.length; i += batch) await store.apply(events.slice(i, i + batch));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { wall: Math.round(events.length / seconds), cpu: Math.round(events.length / cpuSince(cpu)) };
}

/** 1 000 000 trades, server side: 20 strategies, 5 symbols, 95 % closed, one a second. */
async function loadTrades(client: SqlClient, rows: number): Promise<void> {
  await client.query(
    `INSERT INTO ledger.trades
     SELECT 't' || g, 'default', 'paper', (ARRAY['BTC/USDT','ETH/USDT','SOL/USDT','XRP/USDT','ADA/USDT'])[1 + g % 5],
       's' || (g % 20), CASE WHEN g % 3 = 0 THEN 'short' ELSE 'long' END,
       CASE WHEN g % 20 = 7 THEN 'open' ELSE 'closed' END,
       1600000000000 + g * 1000, CASE WHEN g % 20 = 7 THEN NULL ELSE 1600000000000 + g * 1000 + 60000 END,
       1, 100, 1, 101, 0, 0, 0.1, 0.001, 0.1, 0.8, 2, 'f' || g, 'f' || g || 'x', 1600000000000 + g * 1000
     FROM generate_series(1, $1::int) g`,
    [rows],
  );
  await client.exec("ANALYZE ledger.trades");
}

async function pageLatency(
  store: SqlLedgerStore,
  filter: Parameters<SqlLedgerStore["trades"]>[0],
  n: number,
) {
  const rec = new Recorder();
  for (let i = 0; i < 5; i++) await store.trades(filter, { limit: 1000 });
  const cpu = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const page = await rec.time(() => store.trades(filter, { limit: 1000 }));
    if (page.trades.length !== 1000) throw new Error(`expected 1000 trades, got ${page.trades.length}`);
  }
  return { latency: rec.stats(), cpuMs: Math.round((cpuSince(cpu) * 1000 * 100) / n) / 100 };
}

/** The database's own execution time of the page query (EXPLAIN ANALYZE), median of 5, in ms. */
async function serverMs(client: SqlClient, where: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const plan = await client.query<{ "QUERY PLAN": string }>(
      `EXPLAIN ANALYZE SELECT * FROM ledger.trades ${where} ORDER BY opened_at DESC, id DESC LIMIT 1001`,
    );
    const line = plan.map((p) => p["QUERY PLAN"]).find((l) => l.startsWith("Execution Time"));
    times.push(Number(line?.match(/([\d.]+) ms/)?.[1] ?? Number.NaN));
  }
  return times.sort((a, b) => a - b)[2] ?? Number.NaN;
}

const ledgerCase: BenchCase = {
  name: "ledger",
  order: 35,
  async run({ scale, log }) {
    const results: BenchResult[] = [];
    const adminUrl = process.env.POSTGRES_TEST_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
    const dbName = `bot4_bench_ledger_${randomUUID().slice(0, 8)}`;
    const dir = mkdtempSync(join(tmpdir(), "bot4-bench-ledger-"));
    const { default: postgres } = await import("postgres");
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE "${dbName}"`);
    const pgUrl = new URL(adminUrl);
    pgUrl.pathname = `/${dbName}`;
    const events = fills(Math.round(50_000 * scale));
    const trades = 1_000_000;
    try {
      for (const [name, open] of [
        ["pglite", () => openPglite(join(dir, "ledger"))],
        ["postgres", () => openPostgres(pgUrl.toString())],
      ] as const) {
        const t0 = Date.now();
        const client = await open();
        try {
          log(`${name}: opened in ${Date.now() - t0} ms`);
          for (const batch of [256, 1000]) {
            const store = await SqlLedgerStore.open(client, { schema: `bench_${batch}`, ownsClient: false });
            const perSecond = await projection(store, events, batch);
            const d = await store.digests();
            results.push({
              case: `ledger: projection into ${name}, batches of ${batch}`,
              unit: "fills/s",
              throughput: perSecond.wall,
              notes: {
                [name === "pglite" ? "fills_per_cpu_s" : "fills_per_client_cpu_s"]: perSecond.cpu,
                fills: events.length,
                trades: d.trades?.rows ?? 0,
                target: 20_000,
                load1: Math.round(loadavg()[0] ?? 0),
              },
            });
          }
          const store = await SqlLedgerStore.open(client, { ownsClient: false });
          const t1 = Date.now();
          await loadTrades(client, trades);
          log(`${name}: ${trades} trades loaded in ${Date.now() - t1} ms`);
          for (const [label, filter, where] of [
            ["newest", {}, ""],
            ["one strategy", { strategy: "s3" }, "WHERE strategy_id = 's3'"],
            [
              "one symbol, closed",
              { symbol: "ETH/USDT", status: "closed" as const },
              "WHERE status = 'closed' AND symbol = 'ETH/USDT'",
            ],
          ] as const) {
            const page = await pageLatency(store, filter, 50);
            results.push({
              case: `ledger: get_trades 1000 of 1M on ${name}, ${label}`,
              unit: "pages",
              latency: page.latency,
              notes: {
                server_exec_ms: await serverMs(client, where),
                cpu_ms_per_page: page.cpuMs,
                target_p50_ms: 5,
                load1: Math.round(loadavg()[0] ?? 0),
              },
            });
          }
        } finally {
          await client.close();
        }
      }
    } finally {
      await admin.unsafe(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
      await admin.end({ timeout: 5 });
      rmSync(dir, { recursive: true, force: true });
    }
    return results;
  },
};

export default ledgerCase;
