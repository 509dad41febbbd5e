import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { at, DAY1, fill, fillEvent, scenarioEvents } from "../../../core/ledger/testing.ts";
import { testDatabase } from "../../../test/postgres.ts";
import { openPglite, openPostgres, type SqlClient } from "./client.ts";
import { loadConfig } from "../../../core/config.ts";
import { quietLogger } from "../../../core/telemetry/log.ts";
import { createToolRegistry } from "../../../core/tools/registry.ts";
import { ledgerTools } from "../tools.ts";
import { migrations } from "./migrations.ts";
import { SqlLedgerStore } from "./store.ts";

/**
 * The SQL store on both adapters: PGlite (a temp directory) and the machine's PostgreSQL (a database
 * of its own, dropped after the file). Same statements, same migrations, same numbers.
 */
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const adapters: [string, () => Promise<SqlClient>][] = [
  [
    "pglite",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "bot4-ledger-"));
      dirs.push(dir);
      return openPglite(dir);
    },
  ],
  ["postgres", async () => openPostgres(await testDatabase("bot4_ledger_store"))],
];

describe.each(adapters)("the ledger store on %s", (_name, open) => {
  let client: SqlClient;
  let store: SqlLedgerStore;

  beforeAll(async () => {
    client = await open();
    store = await SqlLedgerStore.open(client, { ownsClient: false });
  }, 180_000);

  afterAll(async () => {
    await client?.close();
  });

  it("opens connections with the session settings the page reads rely on", async () => {
    expect(await client.query("SHOW random_page_cost")).toEqual([{ random_page_cost: "1.1" }]);
    expect(await client.query("SHOW standard_conforming_strings")).toEqual([
      { standard_conforming_strings: "on" },
    ]);
    expect(await client.query("SHOW extra_float_digits")).toEqual([{ extra_float_digits: "1" }]);
  });

  it("runs a transaction's statements sent together in the order they were called", async () => {
    // New and known statements mixed, past PGlite's cap of prepared ones (its DEALLOCATE ALL path).
    await client.exec("CREATE SEQUENCE IF NOT EXISTS public.order_check");
    for (let i = 0; i < 40; i++) await client.query(`SELECT $1::int + ${i} AS v`, [0]);
    const got = await client.transaction((tx) =>
      Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          tx.query<{ v: number; n: number }>(
            `SELECT $1::int + ${i % 280} AS v, nextval('public.order_check')::int AS n`,
            [i],
          ),
        ),
      ),
    );
    const first = got[0]?.[0]?.n ?? 0;
    expect(got.map((r) => r[0])).toEqual(got.map((_, i) => ({ v: i + (i % 280), n: first + i })));
  });

  it("records the migrations it applied, and a second open applies none", async () => {
    const rows = await client.query<{ version: number }>(
      "SELECT version FROM ledger.ledger_migrations ORDER BY 1",
    );
    expect(rows.map((r) => r.version)).toEqual(migrations.map((m) => m.version));
    const again = await SqlLedgerStore.open(client, { ownsClient: false });
    expect(again.schema).toBe("ledger");
    expect((await client.query("SELECT * FROM ledger.ledger_migrations")).length).toBe(migrations.length);
  });

  it("projects the scenario; replaying it changes nothing", async () => {
    const events = scenarioEvents();
    expect(await store.apply(events)).toEqual({ applied: events.length, duplicates: 0 });
    const before = await store.digests();
    expect(before.trades?.rows).toBe(2);
    expect(before.fills?.rows).toBe(6);
    expect(before.orders?.rows).toBe(6);
    expect(before.events?.rows).toBe(18);
    expect(await store.apply(events)).toEqual({ applied: 0, duplicates: events.length });
    expect(await store.apply(events.slice(3, 9))).toEqual({ applied: 0, duplicates: 6 });
    expect(await store.digests()).toEqual(before);
    expect(await store.lastSeq()).toBe(18);
  });

  it("applies the new events of a batch that also holds stored ones, and takes any characters in ids", async () => {
    const odd = await SqlLedgerStore.open(client, { schema: "ledger_odd_ids", ownsClient: false });
    const first = fillEvent(
      fill("f\t1\\x", {
        symbol: "ETH/USDT",
        side: "buy",
        amount: 1,
        price: 3000,
        fee: [0.001, "ETH"],
        timestamp: DAY1,
      }),
      "ev\n1",
    );
    const second = fillEvent(
      fill("f\r2'", {
        symbol: "ETH/USDT",
        side: "sell",
        amount: 0.999,
        price: 3100,
        fee: [3.0969, "USDT"],
        timestamp: DAY1 + 1,
      }),
      "ev\\N'; --",
    );
    expect(await odd.apply([first])).toEqual({ applied: 1, duplicates: 0 });
    // The same fill under a new event id is not booked twice; the stored event is skipped.
    const again = { ...first, id: "ev-other" };
    expect(await odd.apply([first, again, second])).toEqual({ applied: 2, duplicates: 1 });
    const got = await odd.trade("f\t1\\x");
    expect(got?.fills.map((f) => [f.id, f.event_id])).toEqual([
      ["f\t1\\x", "ev\n1"],
      ["f\r2'", "ev\\N'; --"],
    ]);
    expect(got?.trade.status).toBe("closed");
    // A page of trades reads the ids back as stored, and a filter's text is taken as it is.
    const page = await odd.trades({}, { limit: 10 });
    expect(page.trades.map((t) => [t.id, t.closing_fill_id, t.closed_at])).toEqual([
      ["f\t1\\x", "f\r2'", DAY1 + 1],
    ]);
    expect((await odd.trades({ strategy: "it's $1 \\" }, { limit: 10 })).trades).toEqual([]);
    expect(got?.trade.realized_pnl).toBeCloseTo(0.999 * 3100 - 3.0969 - 3000, 9);
  });

  it("gives the same tables whatever the batching (one event per transaction)", async () => {
    const other = await SqlLedgerStore.open(client, { schema: "ledger_one_by_one", ownsClient: false });
    for (const e of scenarioEvents()) await other.apply([e]);
    expect(await other.digests()).toEqual(await store.digests());
  });

  it("serves the trades, newest first, with filters and a cursor", async () => {
    const all = await store.trades({}, { limit: 10 });
    expect(all.trades.map((t) => t.id)).toEqual(["g1", "f1"]);
    expect(all.next_cursor).toBeNull();
    // A page is decoded from COPY text by hand: each row equals the driver's own reading of it.
    for (const t of all.trades) expect(t).toStrictEqual((await store.trade(t.id))?.trade);
    const first = await store.trades({}, { limit: 1 });
    expect(first.trades.map((t) => t.id)).toEqual(["g1"]);
    const second = await store.trades({}, { limit: 1, cursor: first.next_cursor ?? "" });
    expect(second.trades.map((t) => t.id)).toEqual(["f1"]);
    expect(second.next_cursor).toBeNull();
    expect((await store.trades({ strategy: "s1" }, { limit: 10 })).trades.map((t) => t.id)).toEqual(["f1"]);
    expect((await store.trades({ symbol: "BTC/USDT" }, { limit: 10 })).trades.map((t) => t.id)).toEqual([
      "g1",
    ]);
    expect((await store.trades({ status: "open" }, { limit: 10 })).trades).toEqual([]);
    expect((await store.trades({ from: at(1, 10) + 1 }, { limit: 10 })).trades.map((t) => t.id)).toEqual([
      "g1",
    ]);
    expect((await store.trades({ venue: "kraken" }, { limit: 10 })).trades).toEqual([]);
    const one = await store.trade("f1");
    expect(one?.fills.map((f) => f.id)).toEqual(["f1", "f2", "f3", "f4"]);
    expect(one?.trade.realized_pnl).toBeCloseTo(35.90453, 8);
    expect(await store.trade("nope")).toBeUndefined();
  });

  it("answers get_trades pages (open and closed trades) that its output schema leaves unchanged", async () => {
    // get_trades skips the output parse (outputByConstruction): its pages must pass it as they are.
    const mixed = await SqlLedgerStore.open(client, { schema: "ledger_view", ownsClient: false });
    await mixed.apply([
      ...scenarioEvents(),
      fillEvent(
        fill("o1", {
          symbol: "SOL/USDT",
          side: "sell",
          amount: 2.5,
          price: 101.3,
          fee: [0.1, "USDT"],
          strategyId: "s3",
          timestamp: DAY1 + 5,
        }),
      ),
    ]);
    const tools = ledgerTools({
      config: loadConfig({}),
      store: async () => mixed,
      bus: () => Promise.reject(new Error("no bus here")),
    });
    const getTrades = tools.find((t) => t.name === "get_trades");
    const registry = createToolRegistry("ledger", tools);
    const ctx = { requestId: "r", correlationId: "r", transport: "local" as const, logger: quietLogger() };
    for (const args of [{}, { status: "open" }, { limit: 1 }]) {
      const page = (await registry.call("get_trades", args, ctx)) as { trades: { status: string }[] };
      expect(getTrades?.output.parse(page)).toStrictEqual(page);
      expect(page.trades.length).toBeGreaterThan(0);
    }
    const all = (await registry.call("get_trades", {}, ctx)) as { trades: { status: string }[] };
    expect(all.trades.map((t) => t.status).sort()).toEqual(["closed", "closed", "open"]);
  });

  it("sums profit per strategy and symbol (values of core/ledger/projection.test.ts)", async () => {
    const groups = await store.profit({});
    const eth = groups.find((g) => g.symbol === "ETH/USDT");
    const btc = groups.find((g) => g.symbol === "BTC/USDT");
    expect(eth).toMatchObject({ strategy_id: "s1", closed: 1, wins: 1, losses: 0, open: 0 });
    expect(eth?.realized_pnl).toBeCloseTo(35.90453, 8);
    expect(eth?.fee_quote).toBeCloseTo(4.56547, 9);
    expect(eth?.fee_base_quote).toBeCloseTo(4.525, 9);
    expect(btc).toMatchObject({ strategy_id: "s2", closed: 1, wins: 0, losses: 1 });
    expect(btc?.gross_loss).toBeCloseTo(107.9, 9);
    const perf = await store.performance({});
    // profit ratios: 35.90453 / 4525 and −107.9 / 4000
    expect(perf.map((p) => p.symbol)).toEqual(["ETH/USDT", "BTC/USDT"]);
    expect(perf[0]?.profit_ratio).toBeCloseTo(35.90453 / 4525, 12);
    expect(perf[1]?.profit_ratio).toBeCloseTo(-0.026975, 12);
  });

  it("splits realised PnL and fees by day, and accumulates them for the equity curve", async () => {
    /*
     * day 1: realised 46.9484984984985 (f2); fees 0.001 × 3000 (f1, base) + 4 (g1) + 1.55 (f2) = 8.55; no trade closed
     * day 2: realised −11.0439684984985 (f4); fees 0.0005 × 3050 + 3.01547 = 4.54047; ETH trade closed (a win)
     * day 3: realised −107.9 (g2); fees 3.9; BTC trade closed (a loss)
     */
    const days = await store.periodPnl("day", {}, 10);
    expect(days.map((d) => d.start)).toEqual([at(3, 0), at(2, 0), DAY1]);
    expect(days.map((d) => [d.trades, d.wins])).toEqual([
      [1, 0],
      [1, 1],
      [0, 0],
    ]);
    expect(days[2]?.realized_pnl).toBeCloseTo(46.9484984984985, 8);
    expect(days[2]?.fees_quote).toBeCloseTo(8.55, 9);
    expect(days[1]?.realized_pnl).toBeCloseTo(-11.0439684984985, 8);
    expect(days[1]?.fees_quote).toBeCloseTo(4.54047, 9);
    expect(days[0]?.realized_pnl).toBeCloseTo(-107.9, 9);
    const weeks = await store.periodPnl("week", {}, 10);
    expect(weeks).toHaveLength(1);
    expect(weeks[0]?.start).toBe(DAY1); // 2026-03-02 is a Monday
    expect(weeks[0]?.realized_pnl).toBeCloseTo(-71.99547, 8);
    const curve = await store.balanceHistory({}, 86_400_000, 10);
    expect(curve.map((p) => p.at)).toEqual([at(2, 0), at(3, 0), at(4, 0)]);
    expect(curve.map((p) => p.cumulative_pnl).at(-1)).toBeCloseTo(-71.99547, 8);
    expect(curve[1]?.cumulative_pnl).toBeCloseTo(35.90453, 8);
  });
});
