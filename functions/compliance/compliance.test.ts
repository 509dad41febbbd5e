import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { functionAgents } from "../../core/agents/manifest.ts";
import { readInstances } from "../../adapters/nats/agent-registry.ts";
import type { Bus } from "../../adapters/nats/bus.ts";
import { callTool } from "../../adapters/nats/tool-transport.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { type Fill, type Order, type Position, tradeEventType } from "../../core/domain/trading.ts";
import { envelopeOf, events as catalogue } from "../../core/events/catalogue.ts";
import { DeadLetter } from "../../core/functions/dead-letter.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { streams, subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { ToolError } from "../../core/tools/errors.ts";
import { eventually, privateNats, testBus } from "../../test/nats.ts";
import { type LocalFunctions, startLocalFunctions } from "../local.ts";
import { readStream, testConfig } from "../trigger/testing.ts";

const config = testConfig({
  COMPLIANCE_RESTRICTED_SYMBOLS: "LUNA/USDT",
  COMPLIANCE_MAX_ORDER_NOTIONAL: "50000",
  COMPLIANCE_ACCOUNT_EQUITY: "100000",
  MAX_POSITION_SIZE: "0.02",
  COMPLIANCE_PRICE_BAND: "0.05",
  COMPLIANCE_WASH_WINDOW_MS: "60000",
  COMPLIANCE_RATIO_MIN_ORDERS: "5",
  COMPLIANCE_MAX_ORDER_TO_TRADE: "3",
  COMPLIANCE_MAX_CANCEL_RATIO: "0.5",
  TRIGGER_MAX_WAIT_MS: "0",
});

const T0 = Date.parse("2026-01-05T10:00:00Z");

const order = (o: Partial<Order> & Pick<Order, "id" | "status">): Order => ({
  clientOrderId: `c-${o.id}`,
  account: "alice",
  venue: "paper",
  symbol: "BTC/USDT",
  side: "buy",
  type: "limit",
  amount: 0.01,
  price: 40_000,
  filled: 0,
  remaining: o.amount ?? 0.01,
  createdAt: T0,
  updatedAt: T0,
  ...o,
});

const fill = (
  f: Partial<Fill> & Pick<Fill, "id" | "orderId" | "side" | "amount" | "price" | "timestamp">,
): Fill => ({
  clientOrderId: `c-${f.orderId}`,
  account: "alice",
  venue: "paper",
  symbol: "BTC/USDT",
  fee: { currency: "USDT", cost: 0.1 },
  liquidity: "taker",
  ...f,
});

let bus: Bus;
let functions: LocalFunctions;
let published = 0;

async function publishOrder(o: Order): Promise<void> {
  published++;
  await bus.publishEvent(
    makeEvent({
      type: tradeEventType.order(o.status),
      source: "exchange",
      subject: subjects.trade.order(o.status),
      data: o,
    }),
  );
}
async function publishFill(f: Fill): Promise<void> {
  published++;
  await bus.publishEvent(
    makeEvent({ type: tradeEventType.fill, source: "exchange", subject: subjects.trade.fill, data: f }),
  );
}
async function publishPosition(p: Position): Promise<void> {
  published++;
  await bus.publishEvent(
    makeEvent({
      type: tradeEventType.position,
      source: "exchange",
      subject: subjects.trade.position,
      data: p,
    }),
  );
}

const decisions = async () =>
  (await readStream(bus, streams.AUDIT.name, subjects.audit.of("compliance", "decision"))).map(
    // Each record is its catalogue entry's envelope: type audit.decision, data of its schema.
    (m) => envelopeOf(catalogue.compliance.decision).parse(m.envelope).data,
  );
const violations = async () =>
  (await readStream(bus, streams.EVENTS.name, subjects.events.of("compliance", "violation"))).map((m) => {
    expect(m.envelope.type).toBe("compliance.violation");
    return envelopeOf(catalogue.compliance.violation).parse(m.envelope).data;
  });

beforeAll(async () => {
  const nats = await privateNats();
  bus = await testBus(nats.url);
  await ensureTopology(bus);
  // Every function but the ledger (its embedded database's first open would only load this file).
  functions = await startLocalFunctions(
    { config, bus, logger: quietLogger("functions") },
    { only: functionAgents.map((f) => f.name).filter((n) => n !== "ledger") },
  );

  // 1. A fill establishes the last trade price (40 000) and a small position: clean.
  await publishFill(
    fill({ id: "f0", orderId: "o0", side: "buy", amount: 0.01, price: 40_000, timestamp: T0 }),
  );
  // 2. A clean order: notional 401, position 0.02 × 40 100 / 100 000 = 0.8%, 0.25% from the last trade.
  await publishOrder(order({ id: "clean", status: "submitted", price: 40_100, updatedAt: T0 + 1 }));
  // 3. A restricted symbol.
  await publishOrder(
    order({
      id: "luna",
      status: "submitted",
      symbol: "LUNA/USDT",
      price: 0.5,
      amount: 10,
      updatedAt: T0 + 2,
    }),
  );
  // 4. Notional 1.5 × 40 000 = 60 000 > 50 000 (and the position it would open is far over 2%).
  await publishOrder(order({ id: "big", status: "submitted", amount: 1.5, updatedAt: T0 + 3 }));
  // 5. Position only: notional 3 600, but (0.01 + 0.09) × 40 000 / 100 000 = 4% > 2%.
  await publishOrder(order({ id: "heavy", status: "submitted", amount: 0.09, updatedAt: T0 + 4 }));
  // 6. Price band only: a small sell 10% above the last trade.
  await publishOrder(
    order({ id: "far", status: "submitted", side: "sell", amount: 0.001, price: 44_000, updatedAt: T0 + 5 }),
  );
  // 7. Wash trade: alice sells 30 s after buying, from another order.
  await publishFill(
    fill({ id: "f1", orderId: "o1", side: "sell", amount: 0.01, price: 40_020, timestamp: T0 + 30_000 }),
  );
  // 8. Position limit on a fill: bob buys 1 ETH at 3 000 = 3% of equity.
  await publishFill(
    fill({
      id: "f2",
      orderId: "o2",
      account: "bob",
      symbol: "ETH/USDT",
      side: "buy",
      amount: 1,
      price: 3_000,
      timestamp: T0 + 31_000,
    }),
  );
  // 9. Layering: carol places 6 orders and cancels 5, none trade.
  for (let i = 0; i < 6; i++) {
    await publishOrder(
      order({
        id: `carol-${i}`,
        status: "submitted",
        account: "carol",
        symbol: "SOL/USDT",
        price: 100,
        amount: 1,
        updatedAt: T0 + 40_000 + i,
      }),
    );
  }
  for (let i = 0; i < 5; i++) {
    await publishOrder(
      order({
        id: `carol-${i}`,
        status: "canceled",
        account: "carol",
        symbol: "SOL/USDT",
        price: 100,
        amount: 1,
        updatedAt: T0 + 41_000 + i,
      }),
    );
  }
  // 10. A position snapshot (clean) and a trading-control change from risk.
  await publishPosition({
    account: "alice",
    venue: "paper",
    symbol: "BTC/USDT",
    amount: 0,
    averagePrice: 0,
    realizedPnl: 0.2,
    timestamp: T0 + 50_000,
  });
  await bus.publishEvent(
    makeEvent({
      type: tradeEventType.killSwitch,
      source: "risk",
      subject: subjects.trade.control("kill_switch"),
      data: { engaged: true, reason: "drawdown" },
    }),
  );
  // 11. A malformed order event: dead-lettered at once.
  await bus.publishEvent(
    makeEvent({
      type: tradeEventType.order("submitted"),
      source: "exchange",
      subject: subjects.trade.order("submitted"),
      data: { id: "broken", symbol: "btc-usdt" },
    }),
  );
  await eventually(async () => (await decisions()).length >= published, 15_000, "every decision on AUDIT");
});

afterAll(async () => {
  await functions.stop();
});

describe("ComplianceAuditor over a real nats-server", () => {
  it("runs as a local function, registered with its tools, and reports no function without a module", async () => {
    expect(functions.running).toContain("compliance");
    expect(functions.notImplemented).toEqual([]);
    const [instance] = await readInstances(bus, "compliance");
    expect(instance?.kind).toBe("function");
    expect(instance?.tools.map((t) => t.name).sort()).toEqual([
      "audit_trail",
      "check_order",
      "compliance_report",
    ]);
  });

  it("writes one decision per order, fill and position event, and a violation event per violation", async () => {
    const all = await decisions();
    expect(all).toHaveLength(published);
    const byOrder = (id: string) => all.filter((d) => d.orderId === id && d.eventType === "order.submitted");
    const rulesOf = (id: string) => (byOrder(id)[0]?.violations ?? []).map((v) => v.rule).sort();
    expect(byOrder("clean")[0]?.outcome).toBe("pass");
    expect(rulesOf("clean")).toEqual([]);
    expect(rulesOf("luna")).toEqual(["restricted_symbol"]);
    expect(rulesOf("big")).toEqual(["max_order_notional", "position_limit"]);
    expect(rulesOf("heavy")).toEqual(["position_limit"]);
    expect(rulesOf("far")).toEqual(["price_band"]);
    const fillRules = (id: string) => (all.find((d) => d.fillId === id)?.violations ?? []).map((v) => v.rule);
    expect(fillRules("f0")).toEqual([]);
    expect(fillRules("f1")).toEqual(["wash_trade"]);
    expect(fillRules("f2")).toEqual(["position_limit"]);
    const carol = all.filter((d) => d.account === "carol").flatMap((d) => d.violations.map((v) => v.rule));
    expect(carol.sort()).toEqual(["cancel_ratio", "order_to_trade_ratio"]);
    expect(all.find((d) => d.eventType === "position.changed")?.outcome).toBe("pass");

    const events = await violations();
    const fromDecisions = all.flatMap((d) => d.violations);
    expect(events).toHaveLength(fromDecisions.length);
    expect(events.map((e) => e.rule).sort()).toEqual(fromDecisions.map((v) => v.rule).sort());
  });

  it("records trading-control changes on AUDIT and dead-letters a malformed order at once", async () => {
    const controls = await readStream(bus, streams.AUDIT.name, subjects.audit.of("compliance", "control"));
    expect(controls).toHaveLength(1);
    expect(envelopeOf(catalogue.compliance.control).parse(controls[0]?.envelope).data).toMatchObject({
      eventType: "kill_switch.changed",
      source: "risk",
      data: { engaged: true, reason: "drawdown" },
    });
    const letters = await readStream(bus, streams.DLQ.name, subjects.dlq.of("compliance"));
    expect(letters).toHaveLength(1);
    const letter = DeadLetter.parse(letters[0]?.envelope.data);
    expect(letter).toMatchObject({
      reason: "schema",
      deliveryCount: 1,
      subject: subjects.trade.order("submitted"),
    });
    expect(letter.error.message).toMatch(/data\.symbol/);
  });

  it("serves audit_trail, compliance_report and check_order over NATS (seed alias complianceauditor)", async () => {
    const trail = (await callTool(bus, "complianceauditor", "audit_trail", { order_id: "luna" })) as {
      records: { data: { outcome: string; violations: { rule: string }[] } }[];
    };
    expect(trail.records).toHaveLength(1);
    expect(trail.records[0]?.data.violations.map((v) => v.rule)).toEqual(["restricted_symbol"]);

    const ranged = (await callTool(bus, "compliance", "audit_trail", {
      from: new Date(T0 + 30_000).toISOString(),
      to: T0 + 31_000,
      kind: "decision",
    })) as { records: { data: { fill_id?: string } }[] };
    expect(ranged.records.map((r) => r.data.fill_id)).toEqual(["f1", "f2"]);

    const report = (await callTool(bus, "compliance", "compliance_report", {})) as {
      decisions: number;
      with_violations: number;
      by_rule: Record<string, number>;
      controls: number;
    };
    expect(report.decisions).toBe(published);
    expect(report.controls).toBe(1);
    expect(report.with_violations).toBe((await decisions()).filter((d) => d.violations.length > 0).length);
    expect(report.by_rule).toEqual({
      restricted_symbol: 1,
      max_order_notional: 1,
      position_limit: 3,
      price_band: 1,
      wash_trade: 1,
      order_to_trade_ratio: 1,
      cancel_ratio: 1,
    });

    const refused = (await callTool(bus, "compliance", "check_order", {
      symbol: "BTC/USDT",
      side: "buy",
      amount: 0.01,
      price: 48_000,
    })) as { allowed: boolean; violations: { rule: string }[]; last_price: number };
    // The last trade is f1 at 40 020; 48 000 is 19.9% away.
    expect(refused.last_price).toBe(40_020);
    expect(refused).toMatchObject({ allowed: false });
    expect(refused.violations.map((v) => v.rule)).toEqual(["price_band"]);
    const fine = (await callTool(bus, "compliance", "check_order", {
      symbol: "BTC/USDT",
      side: "buy",
      amount: 0.01,
      price: 40_000,
    })) as { allowed: boolean };
    expect(fine.allowed).toBe(true);

    const bad = await callTool(bus, "compliance", "check_order", {
      symbol: "btc",
      side: "hold",
      amount: -1,
    }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ToolError);
    expect((bad as ToolError).code).toBe(RpcCode.InvalidParams);
    // Nothing was recorded by the dry runs.
    expect(await decisions()).toHaveLength(published);
  });
});
