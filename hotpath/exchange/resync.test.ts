import { afterAll, describe, expect, it } from "vitest";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { loadConfig } from "../../core/config.ts";
import type { Order } from "../../core/domain/trading.ts";
import { OrderState } from "../../core/domain/trading.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { eventually, privateNats, testBus } from "../../test/nats.ts";
import { BinanceEmulator } from "./emulator/binance.ts";
import { STALE_ORDER_MS } from "./resync.ts";
import { illegalTransition, TERMINAL } from "../../core/domain/order-state.ts";
import { busPublisher, type Publisher } from "./publisher.ts";
import { ExchangeRuntime } from "./runtime.ts";
import { startExchange } from "./service.ts";
import { emulatedBinance, eventTypesOf } from "./testing.ts";

/**
 * What may happen to an order's state, over a real nats-server and through ccxt's real binance class
 * against the local emulator:
 * - the transition table (order-state.ts): forward only, terminal states final;
 * - the race once seen under load: a resync running while a ccxt order's `order.submitted` was being
 *   stored looked the order up, found nothing and settled it `rejected`, and the placement then brought
 *   `accepted` (submitted → rejected → accepted). The publisher's store step is held open by the test
 *   so the resync runs inside that window;
 * - a late venue answer cannot reopen a terminal order;
 * - the stale rule of the resync: after a restart, a tracked open order the venue no longer knows
 *   (Binance answers -2013 "Order does not exist") is marked canceled once older than 5 days
 *   (STALE_ORDER_MS, as freqtrade); a younger one stays open and is looked up again.
 */
const nats = await privateNats();
const bus = await testBus(nats.url, "resync");
await ensureTopology(bus);
const emu = new BinanceEmulator();
await emu.start();
const logger = quietLogger();
afterAll(async () => {
  await emu.stop();
  await bus.drain();
});

describe("order transitions", () => {
  const at = (status: (typeof OrderState)[number], filled = 0) => ({ status, filled });

  it("allows the lifecycle and refuses everything that goes back", () => {
    const table: [string, string, boolean][] = [
      ["submitted", "accepted", true],
      ["submitted", "rejected", true],
      ["submitted", "filled", true],
      ["submitted", "expired", true],
      ["accepted", "partially_filled", true],
      ["accepted", "canceled", true],
      ["accepted", "rejected", true],
      ["partially_filled", "filled", true],
      ["partially_filled", "canceled", true],
      ["partially_filled", "expired", true],
      ["rejected", "accepted", false],
      ["canceled", "accepted", false],
      ["filled", "partially_filled", false],
      ["expired", "filled", false],
      ["accepted", "submitted", false],
      ["partially_filled", "accepted", false],
      ["partially_filled", "rejected", false],
    ];
    for (const [from, to, legal] of table) {
      const issue = illegalTransition(at(from as never), at(to as never));
      expect(issue === undefined, `${from} → ${to}: ${issue}`).toBe(legal);
    }
    for (const s of OrderState) expect(illegalTransition(at(s), at(s)), `${s} → ${s}`).toBeUndefined();
    // Every terminal state is final.
    for (const t of TERMINAL) {
      for (const s of OrderState) {
        if (s !== t) expect(illegalTransition(at(t as never), at(s)), `${t} → ${s}`).toBeDefined();
      }
    }
    expect(illegalTransition(at("partially_filled", 0.5), at("partially_filled", 0.4))).toMatch(/go down/);
  });
});

/** The real bus publisher, whose `durable()` waits, while the test holds it, until the test opens it. */
function gatedPublisher(real: Publisher) {
  let gate: Promise<void> = Promise.resolve();
  let release: () => void = () => undefined;
  let waiting = 0;
  const publisher: Publisher = Object.create(real, {
    durable: {
      value: async (timeoutMs?: number) => {
        waiting++;
        await gate;
        return real.durable(timeoutMs);
      },
    },
  });
  return {
    publisher,
    hold: () => {
      waiting = 0;
      gate = new Promise<void>((r) => {
        release = r;
      });
    },
    open: () => release(),
    waiting: () => waiting,
  };
}

describe("a resync while a ccxt order's submitted event is being stored", () => {
  it("leaves the order alone: submitted → accepted, never rejected, placed once", async () => {
    const held = gatedPublisher(busPublisher(bus, logger));
    const race = new ExchangeRuntime({
      config: loadConfig({
        EXCHANGE_POLL_MS: "60000",
        BINANCE_TESTNET: "false",
        COMPLIANCE_PRICE_BAND: "0.25",
      }),
      logger,
      publisher: held.publisher,
      feedTimer: false,
      venues: [emulatedBinance(emu)],
    });
    await race.start();
    held.hold();
    try {
      expect(race.oms.state("binance")).toBe("up");
      const submitting = race.oms.submit({
        clientOrderId: "race-1",
        account: "default",
        venue: "binance",
        symbol: "BTC/USDT",
        side: "buy",
        type: "limit",
        amount: 0.01,
        price: 45_000,
      });
      // The order is recorded and its submitted event is waiting to be stored.
      await eventually(() => held.waiting() === 1);
      expect(race.oms.get("binance", { clientOrderId: "race-1" })?.order.status).toBe("submitted");
      // Meanwhile the venue goes down (a stream outage) and the resync runs to the end.
      race.oms.markDown("binance", new Error("market stream outage"));
      await race.oms.resync("binance");
      expect(race.oms.state("binance")).toBe("up");
      held.open();
      const result = await submitting;
      expect(result.order).toMatchObject({ status: "accepted", clientOrderId: "race-1" });
      expect(emu.orders.filter((o) => o.clientOrderId === "race-1")).toHaveLength(1);
      expect(await eventTypesOf(bus, "race-1")).toEqual(["order.submitted", "order.accepted"]);
    } finally {
      await race.stop();
    }
  });

  it("refuses a late answer that would reopen a terminal order, and publishes nothing for it", async () => {
    const rt = new ExchangeRuntime({
      config: loadConfig({ PAPER_SEED: "order-state", COMPLIANCE_PRICE_BAND: "0.5" }),
      logger,
      publisher: busPublisher(bus, logger),
      feedTimer: false,
    });
    await rt.start();
    try {
      const price = Math.round((rt.paper.price("BTC/USDT") ?? 50_000) * 80) / 100;
      const placed = await rt.oms.submit({
        clientOrderId: "late-1",
        account: "default",
        venue: "paper",
        symbol: "BTC/USDT",
        side: "buy",
        type: "limit",
        amount: 0.001,
        price,
      });
      expect(placed.order.status).toBe("accepted");
      const canceled = await rt.oms.cancel("paper", { clientOrderId: "late-1" });
      expect(canceled.status).toBe("canceled");
      const rec = rt.oms.find("paper", { clientOrderId: "late-1" });
      if (rec === undefined) throw new Error("late-1 is not tracked");
      // A venue answer from before the cancel arrives after it.
      rt.oms.ingest(rec, { order: placed.order, fills: [] });
      expect(rt.oms.get("paper", { clientOrderId: "late-1" })?.order.status).toBe("canceled");
      await rt.o.publisher.flush();
      expect(await eventTypesOf(bus, "late-1")).toEqual([
        "order.submitted",
        "order.accepted",
        "order.canceled",
      ]);
    } finally {
      await rt.stop();
    }
  });
});

const DAY = 24 * 3_600_000;

/** An open binance order of a previous run, as the exchange stored it (submitted, then accepted). */
async function storeOpenOrder(clientOrderId: string, venueId: string, ageMs: number): Promise<void> {
  const t = Date.now() - ageMs;
  const submitted: Order = {
    id: clientOrderId,
    clientOrderId,
    account: "default",
    venue: "binance",
    symbol: "BTC/USDT",
    side: "buy",
    type: "limit",
    amount: 0.01,
    price: 45_000,
    status: "submitted",
    filled: 0,
    remaining: 0.01,
    createdAt: t,
    updatedAt: t,
  };
  const publisher = busPublisher(bus, logger);
  publisher.order(submitted);
  publisher.order({ ...submitted, id: venueId, status: "accepted" });
  await publisher.durable();
}

const lookups = (venueId: string) =>
  emu.requestsTo("GET /api/v3/order").filter((r) => r.params.orderId === venueId).length;

describe("ccxt resync: orders the venue no longer knows", () => {
  it("cancels one older than 5 days, keeps a younger one open and looks it up again", async () => {
    // Just past and well inside the 5-day rule.
    await storeOpenOrder("stale-old", "777001", STALE_ORDER_MS + DAY / 4);
    await storeOpenOrder("stale-young", "777002", STALE_ORDER_MS - DAY);
    let rt: ExchangeRuntime | undefined;
    const svc = await startExchange(
      { config: loadConfig({ EXCHANGE_POLL_MS: "100", BINANCE_TESTNET: "false" }), bus, logger },
      { port: 0, instanceId: "stale-orders" },
      {
        venues: [emulatedBinance(emu)],
        feedTimer: false,
        streamsMode: "poll",
        onRuntime: (r) => {
          rt = r;
        },
      },
    );
    try {
      const oms = (rt as ExchangeRuntime).oms;
      // The first resync (at start) asked the venue for both, by their venue ids.
      expect(oms.state("binance")).toBe("up");
      expect(lookups("777001")).toBeGreaterThanOrEqual(1);
      expect(lookups("777002")).toBeGreaterThanOrEqual(1);
      const old = oms.get("binance", { clientOrderId: "stale-old" })?.order;
      expect(old).toMatchObject({ status: "canceled", id: "777001", filled: 0 });
      expect(old?.reason).toBe("binance no longer knows the order and it is older than 120 h");
      expect(oms.get("binance", { clientOrderId: "stale-young" })?.order).toMatchObject({
        status: "accepted",
        id: "777002",
      });

      // The cancellation is stored once; nothing is published for the younger order.
      expect(await eventTypesOf(bus, "stale-old")).toEqual([
        "order.submitted",
        "order.accepted",
        "order.canceled",
      ]);
      expect(await eventTypesOf(bus, "stale-young")).toEqual(["order.submitted", "order.accepted"]);

      // The next resync looks the younger one up again and still leaves it open.
      const before = lookups("777002");
      oms.markDown("binance", new Error("test outage"));
      await oms.resync("binance");
      expect(lookups("777002")).toBeGreaterThan(before);
      expect(oms.get("binance", { clientOrderId: "stale-young" })?.order.status).toBe("accepted");
    } finally {
      await svc.stop();
    }
  });
});
