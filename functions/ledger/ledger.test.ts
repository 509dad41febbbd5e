import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bus } from "../../adapters/nats/bus.ts";
import { callTool, serveToolsOverNats } from "../../adapters/nats/tool-transport.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { DeadLetter } from "../../core/functions/dead-letter.ts";
import { functionRegistry, functionToolDeps } from "../../core/functions/tool-deps.ts";
import type { LedgerEvent } from "../../core/ledger/model.ts";
import { scenarioEvents } from "../../core/ledger/testing.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { consumerName, streams, subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { createMetricsRegistry } from "../../core/telemetry/metrics.ts";
import { localDispatch } from "../../core/tools/execute.ts";
import { ToolError } from "../../core/tools/errors.ts";
import { eventually, privateNats, testBus } from "../../test/nats.ts";
import { testDatabase } from "../../test/postgres.ts";
import { inProcessInvoker } from "../trigger/inprocess.ts";
import { triggerMetrics } from "../trigger/metrics.ts";
import { readStream, testConfig } from "../trigger/testing.ts";
import { type RunningTrigger, startTrigger } from "../trigger/trigger.ts";
import { createLedgerFunction } from "./function.ts";
import { openLedgerStore } from "./sql/open.ts";
import type { SqlLedgerStore } from "./sql/store.ts";

/**
 * The ledger end to end on a real nats-server: the scenario's events published on events.trade.>,
 * projected through the trigger, read back through the tools over NATS, replayed (a new durable
 * consumer redelivers everything) and rebuilt — on PGlite and on the machine's PostgreSQL.
 */
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const targets: [string, () => Promise<Record<string, string>>][] = [
  [
    "pglite",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "bot4-ledger-fn-"));
      dirs.push(dir);
      return { BOT4_DATA_DIR: dir };
    },
  ],
  ["postgres", async () => ({ POSTGRES_URL: await testDatabase("bot4_ledger_fn") })],
];

/** The envelope the exchange would publish for a scenario event. */
function envelopeOf(e: LedgerEvent) {
  if (e.kind === "fill")
    return makeEvent({
      id: e.id,
      type: e.type,
      source: "exchange",
      subject: subjects.trade.fill,
      data: e.data,
    });
  if (e.kind === "order") {
    return makeEvent({
      id: e.id,
      type: e.type,
      source: "exchange",
      subject: subjects.trade.order(e.data.status),
      data: e.data,
    });
  }
  throw new Error("no envelope for other events");
}

describe.each(targets)("the ledger function on %s", (_name, target) => {
  let bus: Bus;
  let store: SqlLedgerStore;
  let trigger: RunningTrigger;
  let config: ReturnType<typeof testConfig>;
  const call = (tool: string, args: unknown = {}) => callTool(bus, "ledger", tool, args, { timeout: 20_000 });
  const logger = quietLogger("ledger");

  const start = async () => {
    const def = createLedgerFunction(async () => store);
    trigger = await startTrigger(
      def,
      { bus, config, logger },
      {
        invoker: inProcessInvoker({ config, logger }),
        metrics: triggerMetrics(createMetricsRegistry("t", false)),
      },
    );
    return def;
  };

  beforeAll(async () => {
    const nats = await privateNats();
    bus = await testBus(nats.url);
    await ensureTopology(bus);
    config = testConfig({ TRIGGER_MAX_WAIT_MS: "0", ...(await target()) });
    store = await openLedgerStore(config);
    const def = await start();
    serveToolsOverNats(
      bus,
      "ledger",
      localDispatch([functionRegistry(def, functionToolDeps(def, { config, logger, bus: async () => bus }))]),
    );
    const events = scenarioEvents();
    for (const e of events) await bus.publishEvent(envelopeOf(e), { msgID: e.id });
    // A redelivery as a publisher retrying after the duplicate window would make it: same envelope ids.
    for (const e of events.slice(0, 6)) await bus.publishEvent(envelopeOf(e), { msgID: `${e.id}-again` });
    // A position event (ignored but recorded in the inbox) and a malformed fill (dead-lettered).
    await bus.publishEvent(
      makeEvent({
        id: "pos-1",
        type: "position.changed",
        source: "exchange",
        subject: subjects.trade.position,
        data: {
          account: "default",
          venue: "paper",
          symbol: "ETH/USDT",
          amount: 0,
          averagePrice: 0,
          realizedPnl: 0,
          timestamp: 1,
        },
      }),
    );
    await bus.publishEvent(
      makeEvent({
        id: "bad-fill",
        type: "fill.executed",
        source: "exchange",
        subject: subjects.trade.fill,
        data: { id: "x", amount: -1 },
      }),
    );
    await eventually(
      async () => (await store.lastSeq()) >= 25 || undefined,
      60_000,
      "the ledger to catch up",
    );
  }, 180_000); // a first PGlite open creates the database: seconds, a minute on a loaded machine

  afterAll(async () => {
    await trigger?.stop();
    await store?.close();
  });

  it("projects the trades once, though six events were delivered twice, and dead-letters a malformed fill", async () => {
    const d = await store.digests();
    expect(d.trades?.rows).toBe(2);
    expect(d.fills?.rows).toBe(6);
    expect(d.events?.rows).toBe(19); // 18 scenario events + the position event
    const letters = await readStream(bus, streams.DLQ.name, subjects.dlq.of("ledger"));
    expect(letters.map((m) => DeadLetter.parse(m.envelope.data).reason)).toEqual(["schema"]);
    expect(DeadLetter.parse(letters[0]?.envelope.data).error.message).toMatch(/data\.amount/);
  });

  it("answers get_trades, get_trade and export_trades over NATS", async () => {
    const page = (await call("get_trades", { limit: 1 })) as {
      trades: { id: string }[];
      next_cursor: string;
    };
    expect(page.trades.map((t) => t.id)).toEqual(["g1"]);
    const next = (await call("get_trades", { limit: 1, cursor: page.next_cursor })) as {
      trades: { id: string }[];
    };
    expect(next.trades.map((t) => t.id)).toEqual(["f1"]);
    const byStrategy = (await call("get_trades", { strategy: "s1", status: "closed" })) as {
      trades: { id: string; avg_entry_price: number; realized_pnl: number; strategy_id: string }[];
    };
    expect(byStrategy.trades).toHaveLength(1);
    // average entry: (3000 + 1525) / 1.5
    expect(byStrategy.trades[0]?.avg_entry_price).toBeCloseTo(4525 / 1.5, 9);
    const one = (await call("get_trade", { id: "g1" })) as {
      trade: { realized_pnl: number };
      fills: unknown[];
    };
    expect(one.trade.realized_pnl).toBeCloseTo(-107.9, 9);
    expect(one.fills).toHaveLength(2);
    const csv = (await call("export_trades", {})) as { csv: string; rows: number; truncated: boolean };
    const lines = csv.csv.trimEnd().split("\r\n");
    expect(lines[0]?.split(",").slice(0, 3)).toEqual(["id", "status", "side"]);
    expect(lines.slice(1).map((l) => l.split(",")[0])).toEqual(["g1", "f1"]);
    expect(csv).toMatchObject({ rows: 2, truncated: false });
  });

  it("reports profit, performance, period PnL and the equity curve (the scenario's hand-worked values)", async () => {
    const p = (await call("profit", {})) as {
      total: { realized_pnl: number; win_rate: number; fees_paid: number; closed_trades: number };
      by_strategy: { strategy_id: string; realized_pnl: number }[];
    };
    expect(p.total.closed_trades).toBe(2);
    expect(p.total.realized_pnl).toBeCloseTo(-71.99547, 8);
    expect(p.total.win_rate).toBe(0.5);
    expect(p.total.fees_paid).toBeCloseTo(16.99047, 8);
    expect(p.by_strategy.find((s) => s.strategy_id === "s1")?.realized_pnl).toBeCloseTo(35.90453, 8);
    const perf = (await call("performance", {})) as { pair: string; profit_abs: number; count: number }[];
    expect(perf.map((r) => [r.pair, r.count])).toEqual([
      ["ETH/USDT", 1],
      ["BTC/USDT", 1],
    ]);
    const days = (await call("period_pnl", { period: "day" })) as {
      rows: { date: string; realized_pnl: number }[];
    };
    expect(days.rows.map((r) => r.date)).toEqual(["2026-03-04", "2026-03-03", "2026-03-02"]);
    const month = (await call("period_pnl", { period: "month" })) as {
      rows: { date: string; realized_pnl: number }[];
    };
    expect(month.rows).toHaveLength(1);
    expect(month.rows[0]?.realized_pnl).toBeCloseTo(-71.99547, 8);
    const curve = (await call("balance_history", { interval: "1d", starting_balance: 1000 })) as {
      points: { equity: number }[];
    };
    // 1000 + 46.9484984984985, then + 35.90453, then − 71.99547
    expect(curve.points.map((x) => x.equity)).toHaveLength(3);
    expect(curve.points[0]?.equity).toBeCloseTo(1046.948498498, 8);
    expect(curve.points[2]?.equity).toBeCloseTo(928.00453, 8);
  });

  it("refuses bad arguments naming the field, and an unknown trade", async () => {
    for (const [tool, args, field] of [
      ["get_trades", { limit: 0 }, "limit"],
      ["get_trades", { cursor: "bm9wZQ" }, "cursor"],
      ["get_trades", { from: 10, to: 5 }, "from"],
      ["profit", { marks: { "ETH/USDT": -1 } }, "marks"],
      ["period_pnl", { period: "hour" }, "period"],
    ] as const) {
      const err = await call(tool, args).catch((e: unknown) => e);
      expect(err, tool).toBeInstanceOf(ToolError);
      expect((err as ToolError).code).toBe(RpcCode.InvalidParams);
      expect(JSON.stringify((err as ToolError).data)).toContain(field);
    }
    const missing = await call("get_trade", { id: "nope" }).catch((e: unknown) => e);
    expect((missing as ToolError).code).toBe(RpcCode.Rejected);
  });

  it("replays EVENTS from the start through a new consumer without changing a row", async () => {
    const before = await store.digests();
    await trigger.stop();
    await bus.jsm.consumers.delete(streams.EVENTS.name, consumerName("ledger", 0));
    await start();
    await eventually(
      async () => {
        const info = await bus.jsm.consumers.info(streams.EVENTS.name, consumerName("ledger", 0));
        return info.num_pending === 0 && info.num_ack_pending === 0;
      },
      20_000,
      "the replay to be acked",
    );
    expect(await store.digests()).toEqual(before);
  });

  it("rebuilds the tables from EVENTS into a fresh database: identical tables", async () => {
    const before = await store.digests();
    const r = (await call("rebuild", {})) as {
      identical: boolean;
      events: number;
      before: unknown;
      after: unknown;
    };
    expect(r.events).toBe(25); // 18 + 6 redelivered + the position event; the malformed fill is skipped
    expect(r.before).toEqual(before);
    expect(r.after).toEqual(before);
    expect(r.identical).toBe(true);
    expect(await store.digests()).toEqual(before);
  });
});
