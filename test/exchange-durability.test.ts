import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTopology } from "../adapters/nats/topology.ts";
import { loadConfig } from "../core/config.ts";
import type { Fill } from "../core/domain/trading.ts";
import type { OrderWire, PositionWire } from "../core/domain/wire.ts";
import { events as catalogue, messageId } from "../core/events/catalogue.ts";
import { quietLogger } from "../core/telemetry/log.ts";
import { eventually, privateNats, testBus } from "./nats.ts";
import type { RunningService } from "../hotpath/kit/types.ts";
import { startRisk } from "../hotpath/risk/service.ts";
import type { ExchangeRuntime } from "../hotpath/exchange/runtime.ts";
import { startExchange } from "../hotpath/exchange/service.ts";
import { storedEvents, toolPoster } from "../hotpath/exchange/testing.ts";

/**
 * The exchange's durability contract over a real nats-server: an order is answered only once its
 * events are stored (journaled, then in JetStream; journal.test.ts kills the process in between); orders are refused (503 naming the bus) while the bus is down; after a restart the
 * exchange has the same orders, fills, positions and paper wallet, a resubmission executes nothing, a
 * reused client order id with other terms is refused naming the field, ids never repeat, and the risk
 * service's book agrees with the exchange field by field.
 */
const nats = await privateNats();
const bus = await testBus(nats.url, "durability");
await ensureTopology(bus);
const config = loadConfig({ PAPER_BALANCES: "USDT:100000", PAPER_SEED: "durability" });
const logger = quietLogger();

let exchange: RunningService;
let risk: RunningService;
let rt: ExchangeRuntime;
const post = toolPoster(() => exchange.url);
const postRisk = toolPoster(() => risk.url);

const startEx = async () => {
  exchange = await startExchange(
    { config, bus, logger },
    { port: 0, instanceId: "durability" },
    {
      feedTimer: false,
      durableTimeoutMs: 1_500,
      onRuntime: (r) => {
        rt = r;
      },
    },
  );
};
/** The EVENTS sequence of the snapshot the running risk service's book started from. */
let riskStartedFrom = (): number => -1;
const startRiskSvc = async () => {
  risk = await startRisk(
    { config, bus, logger },
    { port: 0, instanceId: "durability-risk" },
    {
      env: {},
      snapshotIntervalMs: 50,
      onRuntime: (r) => {
        riskStartedFrom = () => r.startedFromSeq;
      },
    },
  );
};

beforeAll(async () => {
  await startRiskSvc();
  await startEx();
});
afterAll(async () => {
  await exchange.stop();
  await risk.stop();
});

const market = (id: string, side: "buy" | "sell", amount = 0.001, extra: Record<string, unknown> = {}) =>
  post("submit_order", { symbol: "BTC/USDT", side, type: "market", amount, client_order_id: id, ...extra });

const eventsOf = async (clientOrderId: string) =>
  (await storedEvents(bus)).filter(
    (e) => (e.data as { clientOrderId?: string } | undefined)?.clientOrderId === clientOrderId,
  );

describe("exchange durability", () => {
  it("answers an order once its events are journaled, and JetStream stores them after, once", async () => {
    const r = await market("dur-1", "buy");
    expect(r.status).toBe(200);
    // The answer means the events are in the journal (journal.test.ts); JetStream follows.
    const events = await eventually(async () => {
      const got = await eventsOf("dur-1");
      return got.length >= 4 && got;
    });
    expect(events.map((e) => e.type)).toEqual([
      "order.submitted",
      "order.accepted",
      "fill.executed",
      "order.filled",
    ]);
    const fill = events[2]?.data as Fill;
    const stored = await storedEvents(bus);
    expect(
      stored.filter(
        (e) => e.id === messageId(catalogue.position.type, "paper", "default", "BTC/USDT", fill.id),
      ),
    ).toHaveLength(1);
  });

  it("refuses orders with a 503 naming the bus while the nats-server is down, and /ready is false", async () => {
    await nats.kill();
    await eventually(() => !bus.connected, 5_000, "the bus to notice");
    const r = await market("dur-down", "buy");
    expect(r.status).toBe(503);
    expect((r.body.error as { message: string }).message).toMatch(
      /event bus \(NATS JetStream\) is unavailable/,
    );
    const ready = await fetch(`${exchange.url}/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { ready: boolean }).ready).toBe(false);
    await nats.restart();
    await eventually(() => bus.connected, 10_000, "the bus to reconnect");
    await eventually(
      async () => (await fetch(`${exchange.url}/ready`)).status === 200,
      10_000,
      "ready again",
    );
    // The refused order was never recorded: the same id is evaluated afresh and executes once.
    const again = await market("dur-down", "buy");
    expect(again.status).toBe(200);
    expect((await eventsOf("dur-down")).filter((e) => e.type === "fill.executed")).toHaveLength(1);
  }, 30_000);

  it("refuses an account that cannot be a subject token with a 400 naming account, publishing nothing", async () => {
    for (const account of ["a.b", "a b", "a*", "a>"]) {
      const r = await market(`dur-acct-${account.length}${account.charCodeAt(1)}`, "buy", 0.001, { account });
      expect(r.status).toBe(400);
      const issues = (r.body.error as { data: { issues: { path: string }[] } }).data.issues;
      expect(issues.map((i) => i.path)).toContain("account");
    }
    const stored = await storedEvents(bus);
    expect(stored.some((e) => (e.data as { account?: string } | undefined)?.account === "a.b")).toBe(false);
  });

  it("pushes an order through each failure point: refused whole, nothing half-done", async () => {
    const balances = async () => (await post("get_balances", {})).body.balances;
    const cases: {
      id: string;
      body: Record<string, unknown>;
      status: number;
      path?: string;
      events: string[];
    }[] = [
      { id: "fp-account", body: { account: "a.b" }, status: 400, path: "account", events: [] },
      { id: "fp-symbol", body: { symbol: "DOGE/USDT" }, status: 400, path: "symbol", events: [] },
      { id: "fp-step", body: { amount: 0.0000001 }, status: 400, path: "amount", events: [] },
      { id: "fp-pretrade", body: { amount: 10 }, status: 422, events: ["order.rejected"] },
      {
        id: "fp-funds",
        body: { side: "sell", amount: 0.01 },
        status: 422,
        events: ["order.submitted", "order.rejected"],
      },
    ];
    for (const c of cases) {
      const body = {
        symbol: "BTC/USDT",
        side: "buy",
        type: "market",
        amount: 0.001,
        client_order_id: c.id,
        ...c.body,
      };
      const before = await balances();
      const r = await post("submit_order", body);
      expect(r.status, c.id).toBe(c.status);
      if (c.path !== undefined) {
        const issues = (r.body.error as { data: { issues: { path: string }[] } }).data.issues;
        expect(
          issues.map((i) => i.path),
          c.id,
        ).toContain(c.path);
      }
      expect(
        (await eventsOf(c.id)).map((e) => e.type),
        c.id,
      ).toEqual(c.events);
      expect(await balances(), c.id).toEqual(before);
      // The same call again: the same answer, nothing more stored.
      const again = await post("submit_order", body);
      expect(again.status, c.id).toBe(c.status);
      expect(
        (await eventsOf(c.id)).map((e) => e.type),
        c.id,
      ).toEqual(c.events);
    }
  });

  it("survives a restart: same orders, fills, positions and wallet; resubmission executes nothing; ids never repeat; risk agrees", async () => {
    expect((await market("dur-2", "buy", 0.002)).status).toBe(200);
    expect((await market("dur-3", "sell", 0.001)).status).toBe(200);
    // Below the market so it rests, but inside the pre-trade price band (COMPLIANCE_PRICE_BAND).
    const below = Math.round((rt.paper.price("BTC/USDT") ?? 50_000) * (1 - config.COMPLIANCE_PRICE_BAND / 2));
    const resting = await post("submit_order", {
      symbol: "BTC/USDT",
      side: "buy",
      type: "limit",
      amount: 0.001,
      price: below,
      client_order_id: "dur-rest",
    });
    expect(resting.status).toBe(200);
    const before = {
      orders: (await post("list_orders", { limit: 1000 })).body.orders as OrderWire[],
      positions: (await post("get_positions", {})).body.positions as PositionWire[],
      balances: (await post("get_balances", {})).body.balances as Record<
        string,
        { total: number; free: number }
      >,
    };
    expect(before.balances.USDT?.total).toBeLessThan(100_000);
    const firstIds = new Set(before.orders.map((o) => o.id));

    await exchange.stop();
    await startEx();

    const after = {
      orders: (await post("list_orders", { limit: 1000 })).body.orders as OrderWire[],
      positions: (await post("get_positions", {})).body.positions as PositionWire[],
      balances: (await post("get_balances", {})).body.balances as Record<
        string,
        { total: number; free: number }
      >,
    };
    const byClient = (os: OrderWire[]) =>
      Object.fromEntries(
        os.map((o) => [o.client_order_id, { id: o.id, status: o.status, filled: o.filled }]),
      );
    expect(byClient(after.orders)).toEqual(byClient(before.orders));
    // The stored position is the same; its unrealised PnL is marked at query time (the price moves on).
    const held = (ps: PositionWire[]) => ps.map(({ unrealized_pnl: _mark, ...rest }) => rest);
    expect(held(after.positions)).toEqual(held(before.positions));
    expect(after.positions.every((p) => Number.isFinite(p.unrealized_pnl))).toBe(true);
    expect(after.balances).toEqual(before.balances);
    expect(after.orders.find((o) => o.client_order_id === "dur-rest")?.status).toBe("accepted");

    // Idempotent across the restart: the same order back, nothing executed.
    const fillsBefore = (await eventsOf("dur-2")).filter((e) => e.type === "fill.executed").length;
    const again = await market("dur-2", "buy", 0.002);
    expect(again.status).toBe(200);
    expect((again.body.order as OrderWire).id).toBe(
      before.orders.find((o) => o.client_order_id === "dur-2")?.id,
    );
    expect((await eventsOf("dur-2")).filter((e) => e.type === "fill.executed")).toHaveLength(fillsBefore);

    // The same id with other terms is refused, naming the field.
    const other = await market("dur-2", "buy", 0.003);
    expect(other.status).toBe(400);
    expect((other.body.error as { message: string }).message).toMatch(
      /amount 0\.002; this request has 0\.003/,
    );
    expect(
      ((other.body.error as { data: { issues: { path: string }[] } }).data.issues ?? []).map((i) => i.path),
    ).toEqual(["amount"]);
    const otherAccount = await market("dur-2", "buy", 0.002, { account: "other" });
    expect(otherAccount.status).toBe(400);
    expect((otherAccount.body.error as { message: string }).message).toMatch(
      /account default; this request has other/,
    );

    // New ids never collide with the first run's.
    const fresh = await market("dur-4", "buy");
    expect(fresh.status).toBe(200);
    expect(firstIds.has((fresh.body.order as OrderWire).id)).toBe(false);
    const fills = (await storedEvents(bus))
      .filter((e) => e.type === "fill.executed")
      .map((e) => (e.data as Fill).id);
    expect(new Set(fills).size).toBe(fills.length);
    const filled = (await storedEvents(bus)).filter((e) => e.type === "order.filled").length;
    expect(fills.length).toBe(filled); // every market order here fills in one fill

    // Risk restarted too: its book starts from the exchange's snapshot (written at the exchange's
    // graceful stop) plus the events after it; both agree field by field.
    await risk.stop();
    await startRiskSvc();
    expect(riskStartedFrom()).toBeGreaterThan(0);
    await expectAgreement();
  }, 30_000);
});

/** The exchange's positions and paper cash against the risk book's, field by field (1e-9 relative). */
async function expectAgreement(): Promise<void> {
  const positions = (
    (await post("get_positions", { account: "default" })).body.positions as PositionWire[]
  ).sort((a, b) => a.symbol.localeCompare(b.symbol));
  const usdt = ((await post("get_balances", {})).body.balances as Record<string, { total: number }>).USDT
    ?.total;
  const book = await eventually(
    async () => {
      const r = await postRisk("risk_metrics", { account: "default" });
      const b = r.body.book as { cash: number; positions: PositionWire[] } | undefined;
      return b !== undefined && Math.abs(b.cash - (usdt ?? 0)) < 1e-6 ? b : undefined;
    },
    10_000,
    "risk's book to catch up",
  );
  const close = (a: number, b: number) =>
    expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(b)));
  close(book.cash, usdt ?? Number.NaN);
  const risky = [...book.positions].sort((a, b) => a.symbol.localeCompare(b.symbol));
  expect(risky.map((p) => [p.venue, p.symbol])).toEqual(positions.map((p) => [p.venue, p.symbol]));
  for (const [i, p] of positions.entries()) {
    const q = risky[i] as PositionWire;
    close(q.amount, p.amount);
    close(q.average_price, p.average_price);
    close(q.realized_pnl, p.realized_pnl);
    close(q.fees ?? 0, p.fees ?? 0);
  }
}
