import { Bus } from "../../adapters/nats/bus.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { loadConfig } from "../../core/config.ts";
import { type Fill, type Order, tradeEventType } from "../../core/domain/trading.ts";
import { startNatsServer } from "../../infra/nats-server/process.ts";
import { type EventEnvelope, makeEvent } from "../../core/protocol/envelope.ts";
import { streams, subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { busPublisher } from "../../hotpath/exchange/publisher.ts";
import { lastBars, readTradeHistory } from "../../hotpath/exchange/recovery.ts";
import { ExchangeRuntime } from "../../hotpath/exchange/runtime.ts";
import { SnapshotStore } from "../../core/exchange-state/snapshot.ts";
import { SNAPSHOT_EVERY_EVENTS } from "../../hotpath/exchange/snapshotter.ts";
import { RiskRuntime } from "../../hotpath/risk/runtime.ts";
import type { BenchCase, BenchResult } from "../harness.ts";

/**
 * Exchange recovery (issue #12: start → ready with 100,000 orders in the history ≤ 2 s): time from
 * nothing to an exchange ready to take orders (runtime built, history read, state rebuilt, paper
 * market seeded — what the service does before it serves), on a private nats-server, with
 * `100 000 × BENCH_SCALE` market orders in EVENTS (five events each: submitted, accepted, fill,
 * position, filled). The snapshot covers all of them but the last `SNAPSHOT_EVERY_EVENTS / 5` orders
 * (a 5,000-event tail: the most a running exchange leaves after its last snapshot before it writes the
 * next one), so both ways rebuild the same 100,000 orders.
 *   full replay      — every event of EVENTS folded (no snapshot);
 *   snapshot + tail  — the snapshot (KV bot4_exchange_state) loaded, then only the tail replayed.
 * Each start is split into its parts: loading the snapshot (read, digest, gunzip, decode), replaying
 * EVENTS, rebuilding the order manager and the paper venue, and the rest (bars, seeding the market).
 * Snapshot + tail is started `RUNS` times, the full replay `RUNS` times below 50,000 orders and once
 * from there (it takes tens of seconds); the median start is reported with its parts. Then the risk
 * service's start from the same snapshot (its book from the snapshot's fills, then EVENTS after it)
 * until it is caught up.
 */
const RUNS = 5;
const HISTORY_ORDERS = 100_000;

const recoveryCase: BenchCase = {
  name: "exchange-recovery",
  order: 41,
  async run(ctx): Promise<BenchResult[]> {
    const total = Math.max(2_000, Math.round(HISTORY_ORDERS * ctx.scale));
    const tailOrders = Math.round(SNAPSHOT_EVERY_EVENTS / 5);
    const orders = total - tailOrders;
    const server = await startNatsServer();
    const logger = quietLogger("bench-recovery");
    const bus = await Bus.connect({ url: server.url, name: "bench-recovery", logger });
    try {
      await ensureTopology(bus);
      const written = performance.now();
      await writeOrders(bus, 0, orders);
      ctx.log(
        `recovery: ${orders} orders (${orders * 5} events) written in ${Math.round(performance.now() - written)} ms`,
      );
      const store = await SnapshotStore.open(bus);
      const base = await readTradeHistory(bus, logger);
      const info = await bus.jsm.streams.info(streams.EVENTS.name);
      const saving = performance.now();
      const meta = await store.save(base.fold, { name: info.config.name, created: info.created });
      const saveMs = performance.now() - saving;
      ctx.log(
        `recovery: snapshot of ${meta.orders} orders, ${meta.fills} fills up to seq ${meta.seq}: ${meta.bytes} bytes gzipped in ${meta.chunks} chunks, written in ${Math.round(saveMs)} ms`,
      );
      await writeOrders(bus, orders, tailOrders);
      const full: Sample[] = [];
      const snap: Sample[] = [];
      const fullRuns = total >= 50_000 ? 1 : RUNS;
      for (let i = 0; i < RUNS; i++) {
        if (i < fullRuns) full.push(await startOnce(bus, undefined));
        snap.push(await startOnce(bus, store));
      }
      const f = median(full);
      const s = median(snap);
      if (f.orders !== s.orders || f.fills !== s.fills || s.orders !== total) {
        throw new Error(
          `snapshot recovery rebuilt ${s.orders}/${s.fills}, full replay ${f.orders}/${f.fills}, of ${total} orders`,
        );
      }
      for (const [name, xs] of [
        ["full replay", full],
        ["snapshot + tail", snap],
      ] as const) {
        ctx.log(`recovery: ${name} ${xs.map(describe).join("; ")}`);
      }
      const risk = await riskStart(bus);
      ctx.log(
        `recovery: risk from the snapshot caught up in ${Math.round(risk.ms)} ms (snapshot seq ${risk.fromSeq}, ${risk.fills} fills)`,
      );
      const history = `${total} orders (${total * 5} events)`;
      return [
        {
          case: `exchange recovery: start → ready, ${history}, full replay`,
          unit: "start",
          notes: { median_ms: Math.round(f.ms), ...parts(f), messages: f.messages, runs: full.length },
        },
        {
          case: `exchange recovery: start → ready, ${history}, snapshot + ${tailOrders * 5}-event tail`,
          unit: "start",
          notes: {
            median_ms: Math.round(s.ms),
            ...parts(s),
            tail_messages: s.messages,
            snapshot_bytes: meta.bytes,
            snapshot_write_ms: Math.round(saveMs),
            runs: RUNS,
            target_ms: 2_000,
          },
        },
        {
          case: `risk start from the exchange snapshot, ${history}: caught up`,
          unit: "start",
          notes: { ms: Math.round(risk.ms), fills: risk.fills, snapshot_seq: risk.fromSeq },
        },
      ];
    } finally {
      await bus.drain();
      await server.stop({ clean: true });
    }
  },
};

interface Sample {
  ms: number;
  /** Parts of `ms`: snapshot load, EVENTS replay, rebuild (order manager, paper venue), the rest. */
  loadMs: number;
  replayMs: number;
  rebuildMs: number;
  messages: number;
  orders: number;
  fills: number;
}

const median = (xs: Sample[]): Sample =>
  [...xs].sort((a, b) => a.ms - b.ms)[Math.floor(xs.length / 2)] as Sample;

const parts = (x: Sample) => ({
  load_ms: Math.round(x.loadMs),
  replay_ms: Math.round(x.replayMs),
  rebuild_ms: Math.round(x.rebuildMs),
  rest_ms: Math.round(x.ms - x.loadMs - x.replayMs - x.rebuildMs),
});

const describe = (x: Sample) => {
  const p = parts(x);
  return `${Math.round(x.ms)} ms (load ${p.load_ms} + replay ${p.replay_ms} + rebuild ${p.rebuild_ms} + rest ${p.rest_ms})`;
};

/** One start to ready, as the service does it (with or without the snapshot store). */
async function startOnce(bus: Bus, store: SnapshotStore | undefined): Promise<Sample> {
  const logger = quietLogger("bench-recovery");
  const config = loadConfig({ PAPER_BALANCES: "USDT:1000000000,BTC:1000", PAPER_SYMBOLS: "BTC/USDT" });
  const started = performance.now();
  const publisher = busPublisher(bus, logger);
  const rt = new ExchangeRuntime({ config, logger, publisher, feedTimer: false });
  const history = await readTradeHistory(bus, logger, store);
  const bars = await lastBars(bus, rt.paper.name, rt.paper.symbols());
  const rebuilding = performance.now();
  rt.recover(history, bars);
  const rebuildMs = performance.now() - rebuilding;
  await rt.start();
  const ms = performance.now() - started;
  const counts = rt.oms.counts();
  await publisher.flush();
  await rt.stop();
  return {
    ms,
    loadMs: history.loadMs,
    replayMs: history.replayMs,
    rebuildMs,
    messages: history.messages,
    ...counts,
  };
}

/** The risk runtime started on the same bus: from the exchange snapshot until it has caught up. */
async function riskStart(bus: Bus): Promise<{ ms: number; fills: number; fromSeq: number }> {
  const config = loadConfig({});
  const started = performance.now();
  const risk = await RiskRuntime.start({
    bus,
    config,
    logger: quietLogger("bench-risk"),
    source: "risk",
    env: {},
  });
  while (!risk.ready) await new Promise((r) => setTimeout(r, 2));
  const ms = performance.now() - started;
  const out = { ms, fills: risk.stats.fills, fromSeq: risk.startedFromSeq };
  await risk.stop();
  return out;
}

/** Writes market orders `from … from + n − 1`, five events each, as the exchange publishes them. */
async function writeOrders(bus: Bus, from: number, n: number): Promise<void> {
  const t0 = Date.UTC(2026, 0, 1);
  let pending: Promise<unknown>[] = [];
  for (let i = from; i < from + n; i++) {
    for (const e of orderEvents(i, t0 + i)) pending.push(bus.publishEvent(e));
    if (pending.length >= 2_000) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
}

function orderEvents(i: number, t: number): EventEnvelope[] {
  const id = `paper-bench-${i + 1}`;
  const cid = `c-${i}`;
  const side = i % 2 === 0 ? "buy" : "sell";
  const base = {
    clientOrderId: cid,
    account: "default",
    venue: "paper",
    symbol: "BTC/USDT",
    side,
    type: "market",
    amount: 0.001,
    createdAt: t,
    updatedAt: t,
  } as const;
  const submitted: Order = { ...base, id: cid, status: "submitted", filled: 0, remaining: 0.001 };
  const accepted: Order = { ...submitted, id, status: "accepted" };
  const fill: Fill = {
    id: `paper:${id}:1`,
    orderId: id,
    clientOrderId: cid,
    account: "default",
    venue: "paper",
    symbol: "BTC/USDT",
    side,
    amount: 0.001,
    price: 50_000,
    fee: { currency: "USDT", cost: 0.05 },
    liquidity: "taker",
    timestamp: t,
  };
  const done: Order = { ...accepted, status: "filled", filled: 0.001, remaining: 0, averagePrice: 50_000 };
  const event = (eventId: string, type: string, subject: string, data: unknown) =>
    makeEvent({ id: eventId, type, source: "exchange", subject, data });
  return [
    event(
      `order:paper:${cid}:submitted:0`,
      tradeEventType.order("submitted"),
      subjects.trade.order("submitted"),
      submitted,
    ),
    event(
      `order:paper:${id}:accepted:0`,
      tradeEventType.order("accepted"),
      subjects.trade.order("accepted"),
      accepted,
    ),
    event(`fill:${fill.id}`, tradeEventType.fill, subjects.trade.fill, fill),
    event(`position:paper:default:BTC/USDT:${fill.id}`, tradeEventType.position, subjects.trade.position, {
      account: "default",
      venue: "paper",
      symbol: "BTC/USDT",
      amount: side === "buy" ? 0.001 : 0,
      averagePrice: 50_000,
      realizedPnl: 0,
      timestamp: t,
    }),
    event(
      `order:paper:${id}:filled:0.001`,
      tradeEventType.order("filled"),
      subjects.trade.order("filled"),
      done,
    ),
  ];
}

export default recoveryCase;
