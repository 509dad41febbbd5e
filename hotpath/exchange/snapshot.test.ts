import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { loadConfig } from "../../core/config.ts";
import type { Order, OrderRequest } from "../../core/domain/trading.ts";
import type { Clock } from "../../core/ports/clock.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { exchangeStateKeys, kvBuckets, streams, subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { privateNats, testBus } from "../../test/nats.ts";
import { busPublisher } from "./publisher.ts";
import { lastBars, readTradeHistory, type TradeHistory } from "./recovery.ts";
import { ExchangeRuntime } from "./runtime.ts";
import { startExchange } from "./service.ts";
import { SNAPSHOT_FORMAT, SnapshotStore } from "../../core/exchange-state/snapshot.ts";
import { memoryPublisher } from "./testing.ts";

/**
 * The recovery snapshot over a real nats-server: a state rebuilt from the snapshot plus the tail of
 * EVENTS equals the state rebuilt from a full replay, field by field (orders, fills, positions, paper
 * wallet and open orders, the paper market's next bar, idempotency records); an absent, corrupted or
 * incompatible snapshot falls back to a full replay with a warning; the service writes one at a
 * graceful stop and starts from it.
 */
const nats = await privateNats();
const bus = await testBus(nats.url, "snapshot");
await ensureTopology(bus);
afterAll(() => bus.drain());

const config = loadConfig({
  PAPER_BALANCES: "USDT:100000,BTC:1",
  PAPER_SYMBOLS: "BTC/USDT,ETH/USDT",
  PAPER_SEED: "snapshot",
  COMPLIANCE_PRICE_BAND: "0.5",
  MAX_POSITION_SIZE: "0.9",
});
const logger = quietLogger();
const store = await SnapshotStore.open(bus);
const kv = await bus.kv(kvBuckets.exchangeState);

/** Warnings a recovery logs, captured. */
function warnings() {
  const lines: { msg: string; problem?: string; reason?: string }[] = [];
  const log = pino({ level: "warn" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
}

const eventsStream = async () => {
  const info = await bus.jsm.streams.info(streams.EVENTS.name);
  return { name: info.config.name, created: info.created, lastSeq: info.state.last_seq };
};

const request = (r: Partial<OrderRequest> & Pick<OrderRequest, "clientOrderId">): OrderRequest => ({
  account: "default",
  venue: "paper",
  symbol: "BTC/USDT",
  side: "buy",
  type: "market",
  amount: 0.01,
  ...r,
});

/** Submits, keeping refusals (insufficient funds, …) as part of the history. */
const trySubmit = (rt: ExchangeRuntime, r: OrderRequest) => rt.oms.submit(r).catch((err: Error) => err);

// ── the history: two phases of trading, a snapshot between them ───────────────────────────────────
const source = new ExchangeRuntime({
  config,
  logger,
  publisher: busPublisher(bus, logger),
  feedTimer: false,
});
await source.start();
const price = source.paper.price("BTC/USDT") ?? 50_000;
const on = (p: number) => Math.round(p * 100) / 100;
await trySubmit(source, request({ clientOrderId: "m-1" }));
await trySubmit(source, request({ clientOrderId: "m-2", side: "sell", amount: 0.004 }));
await trySubmit(
  source,
  request({ clientOrderId: "eth-1", symbol: "ETH/USDT", amount: 0.5, strategyId: "s-1" }),
);
await trySubmit(source, request({ clientOrderId: "rest-1", type: "limit", price: on(price * 0.8) }));
await trySubmit(source, request({ clientOrderId: "near-1", type: "limit", price: on(price * 0.999) }));
await trySubmit(
  source,
  request({
    clientOrderId: "stop-1",
    side: "sell",
    type: "stop",
    amount: 0.002,
    stopPrice: on(price * 0.995),
  }),
);
await trySubmit(source, request({ clientOrderId: "broke-1", amount: 50 }));
for (let i = 0; i < 5; i++) source.feed.tick();
await source.o.publisher.flush();
/**
 * EVENTS holds more than trade events, and recovery reads it unfiltered (recovery.ts): an event on
 * another subject, even one of source `exchange` whose type looks like an order's and whose data is no
 * order, is no part of the history (folding it would fail and log a warning).
 */
const noise = (n: number) =>
  bus.publishEvent(
    makeEvent({
      id: `noise-${n}`,
      type: "order.filled",
      source: "exchange",
      subject: subjects.events.of("exchange", "noise"),
      data: { not: "an order" },
    }),
  );
await noise(1);
const phase1 = await readTradeHistory(bus, logger);
const saved = await store.save(phase1.fold, await eventsStream());

await noise(2);
await source.oms.cancel("paper", { clientOrderId: "rest-1" });
await trySubmit(source, request({ clientOrderId: "m-3", amount: 0.02 }));
await trySubmit(
  source,
  request({ clientOrderId: "rest-2", side: "sell", type: "limit", amount: 0.003, price: on(price * 1.3) }),
);
await trySubmit(
  source,
  request({ clientOrderId: "near-2", side: "sell", type: "limit", amount: 0.003, price: on(price * 1.001) }),
);
for (let i = 0; i < 5; i++) source.feed.tick();
await trySubmit(source, request({ clientOrderId: "eth-2", symbol: "ETH/USDT", side: "sell", amount: 0.2 }));
await source.o.publisher.flush();
await source.stop();
await noise(3);

/** A runtime rebuilt from a history, on a frozen clock, with a publisher that stores nothing. */
async function rebuild(history: TradeHistory) {
  const now = (await bus.jsm.streams.info(streams.EVENTS.name)).state.last_ts;
  const clock: Clock = { now: () => Date.parse(now) + 3_600_000 };
  const rt = new ExchangeRuntime({ config, logger, publisher: memoryPublisher(), feedTimer: false, clock });
  rt.recover(history, await lastBars(bus, rt.paper.name, rt.paper.symbols()));
  const bars = rt.feed.tick();
  const orders = rt.oms.list({});
  return {
    rt,
    state: {
      orders,
      fills: orders.map((o) => rt.oms.get(o.venue, { clientOrderId: o.clientOrderId })?.fills),
      positions: rt.oms.positions.list(),
      balances: rt.paper.balancesNow(),
      open: await rt.paper.fetchOpenOrders(),
      counts: rt.oms.counts(),
      bars,
    },
  };
}

describe("exchange recovery snapshot", () => {
  it("rebuilds from snapshot + tail exactly what a full replay rebuilds, field by field", async () => {
    const full = await readTradeHistory(bus, logger);
    const { log, lines } = warnings();
    const fromSnapshot = await readTradeHistory(bus, log, store);
    expect(lines).toEqual([]);
    expect([fromSnapshot.source, fromSnapshot.snapshotSeq, full.source]).toEqual([
      "snapshot",
      saved.seq,
      "replay",
    ]);
    // Only the tail after the snapshot was read.
    expect(fromSnapshot.messages).toBeGreaterThan(0);
    expect(fromSnapshot.messages).toBeLessThan(full.messages);
    expect(fromSnapshot.orders).toStrictEqual(full.orders);
    expect(fromSnapshot.fills).toStrictEqual(full.fills);
    expect(fromSnapshot.fold.seq).toBe(full.fold.seq);
    // Every trade event was folded, and nothing else: the count is the stream's on events.trade.>.
    const trade = await bus.jsm.streams.info(streams.EVENTS.name, { subjects_filter: subjects.trade.all });
    const tradeMessages = Object.values(trade.state.subjects ?? {}).reduce((a, n) => a + n, 0);
    expect(full.messages).toBe(tradeMessages);
    expect(trade.state.messages).toBeGreaterThan(tradeMessages);

    const a = await rebuild(full);
    const b = await rebuild(fromSnapshot);
    expect(b.state).toStrictEqual(a.state);
    // The rebuilt paper venue answers for the finished orders of the history (made on demand, not at
    // start) as the venue that traded them does: state, amounts, fills; and refuses to cancel them alike.
    const finished = a.state.orders.filter((o) => !["accepted", "partially_filled"].includes(o.status));
    const answer = async (venue: ExchangeRuntime["paper"], o: Order) => {
      const got = await venue.fetchOrder({ clientOrderId: o.clientOrderId });
      const refusal = await venue.cancelOrder({ id: o.id }).catch((err: Error) => err.message);
      const fills = (await venue.fetchOrderFills(o.id)).map((f) => [f.id, f.amount, f.price]);
      if (got === undefined) return { fills, refusal };
      const { status, filled, remaining } = got.order;
      return { status, filled, remaining, fills: got.fills.map((f) => [f.id, f.amount, f.price]), refusal };
    };
    let answered = 0;
    for (const o of finished) {
      const was = await answer(source.paper, o);
      if ("status" in was) answered++;
      for (const { rt } of [a, b]) expect(await answer(rt.paper, o), o.clientOrderId).toEqual(was);
    }
    expect(answered).toBeGreaterThanOrEqual(4);
    // The history holds what the test made: fills in both phases, resting and canceled orders, a refusal.
    const status = (cid: string) => a.state.orders.find((o) => o.clientOrderId === cid)?.status;
    expect(status("rest-1")).toBe("canceled");
    expect(status("rest-2")).toBe("accepted");
    expect(status("broke-1")).toBe("rejected");
    expect(a.state.counts.fills).toBeGreaterThanOrEqual(5);

    // Idempotency records: a resubmission returns the same order on both; other terms are refused alike.
    const again = await Promise.all(
      [a, b].map(({ rt }) => rt.oms.submit(request({ clientOrderId: "m-3", amount: 0.02 }))),
    );
    expect(again[1]?.order).toStrictEqual(again[0]?.order);
    const conflict = await Promise.all(
      [a, b].map(({ rt }) => trySubmit(rt, request({ clientOrderId: "m-3", amount: 0.03 }))),
    );
    expect((conflict[1] as Error).message).toBe((conflict[0] as Error).message);
    expect((conflict[0] as Error).message).toMatch(/already used with amount 0.02/);
  });

  it("falls back to a full replay, with a warning, when the snapshot is absent, corrupted or incompatible", async () => {
    const full = await readTradeHistory(bus, logger);
    const meta = (await store.meta()) ?? saved;
    const cases: { name: string; problem: string; spoil: () => Promise<unknown> }[] = [
      { name: "absent", problem: "absent", spoil: () => kv.delete(exchangeStateKeys.meta) },
      {
        name: "a chunk overwritten",
        problem: "corrupted",
        spoil: () => kv.put(exchangeStateKeys.chunk(meta.slot, 0), new TextEncoder().encode("not gzip")),
      },
      {
        name: "a chunk missing",
        problem: "corrupted",
        spoil: () => kv.delete(exchangeStateKeys.chunk(meta.slot, 0)),
      },
      {
        name: "metadata not JSON",
        problem: "corrupted",
        spoil: () => kv.put(exchangeStateKeys.meta, "{oops"),
      },
      {
        name: "another format",
        problem: "incompatible",
        spoil: () => kv.put(exchangeStateKeys.meta, JSON.stringify({ ...meta, format: SNAPSHOT_FORMAT + 1 })),
      },
      {
        name: "another EVENTS stream",
        problem: "incompatible",
        spoil: () =>
          kv.put(exchangeStateKeys.meta, JSON.stringify({ ...meta, streamCreated: "2020-01-01T00:00:00Z" })),
      },
      {
        name: "a sequence past the stream's end",
        problem: "incompatible",
        spoil: () => kv.put(exchangeStateKeys.meta, JSON.stringify({ ...meta, seq: meta.seq + 1_000_000 })),
      },
    ];
    for (const c of cases) {
      await store.save(phase1.fold, await eventsStream());
      const current = (await store.meta()) ?? meta;
      Object.assign(meta, current);
      await c.spoil();
      const { log, lines } = warnings();
      const history = await readTradeHistory(bus, log, store);
      expect(history.source, c.name).toBe("replay");
      expect(history.orders, c.name).toStrictEqual(full.orders);
      expect(history.fills, c.name).toStrictEqual(full.fills);
      expect(
        lines.map((l) => [l.msg, l.problem]),
        c.name,
      ).toEqual([["exchange snapshot not used: replayed all of EVENTS", c.problem]]);
    }
  });

  it("is written by the service at a graceful stop, and the next start loads it and replays only what followed", async () => {
    await kv.delete(exchangeStateKeys.meta);
    let rt: ExchangeRuntime | undefined;
    const start = () =>
      startExchange(
        { config, bus, logger },
        { port: 0, instanceId: "snapshot" },
        {
          feedTimer: false,
          onRuntime: (r) => {
            rt = r;
          },
        },
      );
    const first = await start();
    expect(rt?.recovered?.source).toBe("replay");
    await rt?.oms.submit(request({ clientOrderId: "svc-1", amount: 0.001 }));
    await first.stop();
    const meta = await store.meta();
    const stream = await eventsStream();
    expect(meta?.seq).toBeLessThanOrEqual(stream.lastSeq);
    const full = await readTradeHistory(bus, logger);
    expect(meta?.seq).toBe(full.fold.seq);

    const second = await start();
    try {
      expect(rt?.recovered).toMatchObject({ source: "snapshot", snapshotSeq: meta?.seq, messages: 0 });
      expect(rt?.oms.get("paper", { clientOrderId: "svc-1" })?.order.status).toBe("filled");
      expect(rt?.oms.counts()).toEqual({ orders: full.orders.length, fills: full.fills.length });
    } finally {
      await second.stop();
    }
  });
});
