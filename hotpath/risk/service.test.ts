import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bus } from "../../adapters/nats/bus.ts";
import { callTool } from "../../adapters/nats/tool-transport.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { loadConfig } from "../../core/config.ts";
import { type Candle, marketEventType, type Ticker } from "../../core/domain/market.ts";
import { type Fill, tradeEventType } from "../../core/domain/trading.ts";
import type { PositionWire } from "../../core/domain/wire.ts";
import { type EventEnvelope, makeEvent } from "../../core/protocol/envelope.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { preTradeCheck } from "../../core/risk/pretrade.ts";
import { RiskSnapshot } from "../../core/risk/snapshot.ts";
import { kvBuckets, riskKeys, streams, subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { ToolError } from "../../core/tools/errors.ts";
import { eventually, privateNats, testBus } from "../../test/nats.ts";
import type { RunningService } from "../kit/types.ts";
import type { RiskRuntime } from "./runtime.ts";
import { startRisk } from "./service.ts";

const nats = await privateNats();
const bus = await testBus(nats.url, "risk-service");
await ensureTopology(bus);
const config = loadConfig({ RISK_INITIAL_EQUITY: "100000", KELLY_FRACTION: "0.25" });

let svc: RunningService;
let rt: RiskRuntime;

const post = async (path: string, body: unknown) => {
  const res = await fetch(`${svc.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const tool = (name: string, args: unknown) => post(`/tools/${name}`, args);

let fillSeq = 0;
const publishFill = (over: Partial<Fill>) => {
  fillSeq++;
  const fill: Fill = {
    id: `fill-${fillSeq}`,
    orderId: `order-${fillSeq}`,
    clientOrderId: `client-${fillSeq}`,
    account: "default",
    venue: "paper",
    symbol: "BTC/USDT",
    side: "buy",
    amount: 0.01,
    price: 50_000,
    fee: { currency: "USDT", cost: 0 },
    liquidity: "taker",
    timestamp: 1_700_000_000_000 + fillSeq,
    ...over,
  };
  return bus.publishEvent(
    makeEvent({ type: tradeEventType.fill, source: "exchange", subject: subjects.trade.fill, data: fill }),
  );
};
const publishTicker = (symbol: string, last: number, timestamp: number) => {
  const ticker: Ticker = { venue: "paper", symbol, last, timestamp };
  return bus.publishEvent(
    makeEvent({
      type: marketEventType.ticker,
      source: "exchange",
      subject: subjects.market.of("paper", "ticker", symbol),
      data: ticker,
    }),
  );
};

/** Every event stored on a subject, oldest first (direct get, as a consumer would see them). */
async function stored(b: Bus, subject: string): Promise<EventEnvelope[]> {
  const name = streams.EVENTS.name;
  const info = await b.jsm.streams.info(name);
  const out: EventEnvelope[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await b.jsm.streams.getMessage(name, { seq });
    if (m !== null && m.subject === subject) out.push(m.json<EventEnvelope>());
  }
  return out;
}

async function kvSnapshot(account = "default"): Promise<RiskSnapshot | undefined> {
  const kv = await bus.kv(kvBuckets.risk);
  const e = await kv.get(riskKeys.snapshot(account));
  return e === null || e.operation !== "PUT" ? undefined : RiskSnapshot.parse(e.json());
}

beforeAll(async () => {
  svc = await startRisk(
    { config, bus, logger: quietLogger() },
    { port: 0, instanceId: "risk-test" },
    {
      snapshotIntervalMs: 20,
      onRuntime: (r) => {
        rt = r;
      },
    },
  );
});
afterAll(async () => {
  await svc.stop();
});

describe("risk service tools", () => {
  it("answers the seed's calculate_kelly call verbatim over JSON-RPC (HTTP and NATS)", async () => {
    const seed = {
      id: "seed-1",
      method: "tool.execute",
      params: {
        agent: "riskquant",
        tool: "calculate_kelly",
        args: { win_probability: 0.6, win_return: 1.0, loss_return: -1.0 },
      },
    };
    const { status, body } = await post("/rpc", seed);
    expect(status).toBe(200);
    const result = body.result as Record<string, unknown>;
    expect(result.kelly_fraction).toBeCloseTo(0.2, 15);
    expect(result.fractional_kelly).toBeCloseTo(0.05, 15); // quarter Kelly
    expect(result.position_size).toBe(0.02); // capped by MAX_POSITION_SIZE
    expect(result.capped_by).toBe("max_position_size");
    const viaNats = (await callTool(bus, "riskquant", "calculate_kelly", seed.params.args)) as Record<
      string,
      unknown
    >;
    expect(viaNats).toEqual(result);
  });

  it("refuses nonsense with the zod issue or the precise domain error, HTTP 400", async () => {
    const p = await tool("calculate_kelly", { win_probability: 1.5, win_return: 1, loss_return: -1 });
    expect(p.status).toBe(400);
    expect(JSON.stringify(p.body)).toMatch(/win_probability/);
    const singular = await tool("monte_carlo", {
      mean: [0, 0],
      covariance: [
        [0.01, 0.01],
        [0.01, 0.01],
      ],
      paths: 10,
    });
    expect(singular.status).toBe(400);
    expect(JSON.stringify(singular.body)).toMatch(/covariance matrix is not positive definite/);
    await expect(
      callTool(bus, "risk", "calculate_var", { returns: [0.01, 0.02], confidence: 1 }),
    ).rejects.toMatchObject({ code: RpcCode.InvalidParams });
  });

  it("calculate_var returns every method for a portfolio, CVaR ≥ VaR", async () => {
    const returns = Array.from({ length: 250 }, (_, t) => [Math.sin(t) / 50, Math.cos(t * 1.3) / 40]);
    const { status, body } = await tool("calculate_var", {
      returns,
      weights: [0.7, 0.3],
      confidence: 0.99,
      horizon: 5,
    });
    expect(status).toBe(200);
    const results = body.results as { method: string; var: number; cvar: number }[];
    expect(results.map((r) => r.method)).toEqual([
      "historical",
      "parametric_normal",
      "cornish_fisher",
      "monte_carlo",
    ]);
    for (const r of results.filter((x) => x.method !== "cornish_fisher"))
      expect(r.cvar).toBeGreaterThanOrEqual(r.var);
    const normal = await tool("calculate_var", { volatility: 0.02, confidence: 0.99, horizon: 4 });
    expect((normal.body.results as { var: number }[])[0]?.var).toBeCloseTo(2.3263478740408408 * 0.04, 12);
  });

  it("optimize_portfolio names assets and binding bounds", async () => {
    const { status, body } = await tool("optimize_portfolio", {
      objective: "min_variance",
      assets: ["BTC", "ETH", "SOL"],
      covariance: [
        [0.01, 0, 0],
        [0, 0.04, 0],
        [0, 0, 0.09],
      ],
      max_weight: [0.5, 1, 1],
    });
    expect(status).toBe(200);
    expect(body.binding_constraints).toEqual([{ asset: "BTC", bound: "upper", value: 0.5 }]);
    expect((body.weights as { asset: string; weight: number }[])[0]).toEqual({ asset: "BTC", weight: 0.5 });
  });

  it("monte_carlo is reproducible for a seed", async () => {
    const args = {
      returns: Array.from({ length: 50 }, (_, t) => [Math.sin(t) / 30]),
      model: "bootstrap",
      paths: 500,
      seed: 7,
    };
    const a = await tool("monte_carlo", args);
    const b = await tool("monte_carlo", args);
    expect(a.status).toBe(200);
    expect(a.body).toEqual(b.body);
  });
});

describe("risk service state", () => {
  it("keeps the book from fills and tickers, writes the snapshot to KV, and the exchange's check reads it", async () => {
    await publishTicker("BTC/USDT", 50_000, 1_700_000_000_000);
    await publishFill({ amount: 0.02, price: 50_000 }); // 1,000 USDT: 1 % of equity
    const metrics = await eventually(
      async () => {
        const { body } = await tool("risk_metrics", {});
        const positions = body.positions as { symbol: string; amount: number }[];
        return positions.length === 1 ? body : undefined;
      },
      5_000,
      "the fill in risk_metrics",
    );
    expect(metrics.equity).toBeCloseTo(100_000, 9);
    expect(metrics.gross_leverage).toBeCloseTo(0.01, 12);
    await publishTicker("BTC/USDT", 60_000, 1_700_000_001_000);
    const snap = await eventually(
      async () => {
        const s = await kvSnapshot();
        return s !== undefined && s.equity > 100_100 ? s : undefined;
      },
      5_000,
      "the marked snapshot in KV",
    );
    expect(snap.equity).toBeCloseTo(100_200, 9);
    expect(snap.peakEquity).toBeCloseTo(100_200, 9);
    expect(snap.positions["BTC/USDT"]).toEqual({ amount: 0.02, mark: 60_000 });
    // Issue 14.6: the position shows realised PnL after fees and unrealised PnL at the mark.
    const marked = await eventually(async () => {
      const { body } = await tool("risk_metrics", {});
      const p = (body.positions as { mark: number; realized_pnl?: number; unrealized_pnl?: number }[])[0];
      return p?.mark === 60_000 ? { p, book: body.book as { positions: PositionWire[] } } : undefined;
    });
    const held = marked.book.positions[0] as PositionWire;
    expect(held.unrealized_pnl).toBeCloseTo(0.02 * (60_000 - held.average_price), 9);
    expect(marked.p.unrealized_pnl).toBeCloseTo(0.02 * (60_000 - held.average_price), 9);
    expect(marked.p.realized_pnl).toBeCloseTo(held.realized_pnl, 12);
    expect(held.realized_pnl).toBeCloseTo(-(held.fees ?? 0), 12);
    // What the exchange does in process with that snapshot:
    const check = preTradeCheck({ symbol: "BTC/USDT", side: "buy", amount: 0.1 }, snap);
    expect(check.approved).toBe(false);
    expect(check.reasons[0]?.check).toBe("maxPositionSize");
    const viaTool = await tool("pre_trade_check", { symbol: "BTC/USDT", side: "buy", amount: 0.1 });
    expect(viaTool.body.approved).toBe(false);
    expect((viaTool.body.reasons as { check: string }[])[0]?.check).toBe("maxPositionSize");
  });

  it("publishes risk.breach when a fill takes a position over MAX_POSITION_SIZE", async () => {
    await publishFill({ amount: 0.1, price: 60_000 }); // 6,000 more: ~7 % of equity
    const breaches = await eventually(
      async () => {
        const events = await stored(bus, subjects.events.of("risk", "breach"));
        return events.length > 0 ? events : undefined;
      },
      5_000,
      "a risk.breach event",
    );
    expect(breaches[0]?.type).toBe("risk.breach");
    expect(breaches[0]?.data).toMatchObject({ account: "default", check: "maxPositionSize", limit: 0.02 });
    const { body } = await tool("risk_metrics", {});
    expect((body.breaches as { check: string }[]).map((b) => b.check)).toContain("maxPositionSize");
  });

  it("set_limits changes limits at run time, stores them in KV and audits the change", async () => {
    const { status, body } = await tool("set_limits", { max_position_size: 0.1, reason: "test widening" });
    expect(status).toBe(200);
    expect(body.changed).toEqual(["max_position_size"]);
    expect((body.previous as Record<string, number>).max_position_size).toBe(0.02);
    const kv = await bus.kv(kvBuckets.risk);
    expect((await kv.get(riskKeys.limits))?.json<{ maxPositionSize: number }>().maxPositionSize).toBe(0.1);
    expect((await kvSnapshot())?.limits.maxPositionSize).toBe(0.1); // rewritten before the call returned
    const events = await stored(bus, subjects.trade.control("limits"));
    expect(events.at(-1)?.type).toBe(tradeEventType.limits);
    expect(events.at(-1)?.data).toMatchObject({ changed: ["maxPositionSize"], reason: "test widening" });
    const bad = await tool("set_limits", { max_position_size: 2 });
    expect(bad.status).toBe(400);
    const none = await tool("set_limits", {});
    expect(none.status).toBe(400);
  });

  it("the kill switch rejects every order, is audited, and turns off again", async () => {
    const on = await tool("kill_switch", { enabled: true, reason: "test" });
    expect(on.body.kill_switch).toBe(true);
    const r = await tool("pre_trade_check", { symbol: "BTC/USDT", side: "sell", amount: 0.001 });
    expect(r.body.approved).toBe(false);
    expect((r.body.reasons as { check: string }[])[0]?.check).toBe("killSwitch");
    expect((await kvSnapshot())?.limits.killSwitch).toBe(true);
    const events = await stored(bus, subjects.trade.control("kill_switch"));
    expect(events.at(-1)).toMatchObject({ type: tradeEventType.killSwitch, data: { reason: "test" } });
    const off = await tool("kill_switch", { enabled: false });
    expect(off.body.kill_switch).toBe(false);
    const ok = await tool("pre_trade_check", { symbol: "BTC/USDT", side: "sell", amount: 0.001 });
    expect(ok.body.approved).toBe(true);
  });

  it("set_limits still works after the limits key was deleted by hand, keeping the limits in force", async () => {
    const kv = await bus.kv(kvBuckets.risk);
    await kv.delete(riskKeys.limits);
    const r = await tool("set_limits", { max_leverage: 2.5 });
    expect(r.status).toBe(200);
    const stored = (await kv.get(riskKeys.limits))?.json<{ maxLeverage: number; maxPositionSize: number }>();
    expect(stored).toMatchObject({ maxLeverage: 2.5, maxPositionSize: 0.1 });
  });

  it("estimates volatility and correlation from candles", async () => {
    const base = 1_800_000_000_000;
    let a = 100;
    let b = 50;
    for (let i = 0; i < 20; i++) {
      const ra = Math.sin(i * 1.1) / 100;
      a *= 1 + ra;
      b *= 1 + ra;
      for (const [symbol, close] of [
        ["AAA/USDT", a],
        ["BBB/USDT", b],
      ] as const) {
        const candle: Candle = {
          venue: "paper",
          symbol,
          timeframe: "1m",
          ts: base + i * 60_000,
          open: close,
          high: close,
          low: close,
          close,
          volume: 1,
        };
        await bus.publishEvent(
          makeEvent({
            type: marketEventType.candle,
            source: "exchange",
            subject: subjects.market.of("paper", "candle", symbol),
            data: candle,
          }),
        );
      }
    }
    const snap = await eventually(
      async () => {
        const s = await kvSnapshot();
        return s?.symbols.includes("BBB/USDT") ? s : undefined;
      },
      5_000,
      "estimates in the snapshot",
    );
    const i = snap.symbols.indexOf("AAA/USDT");
    const j = snap.symbols.indexOf("BBB/USDT");
    expect(snap.correlation[i]?.[j]).toBeCloseTo(1, 9);
    expect(snap.volatility["AAA/USDT"]).toBeGreaterThan(0);
  });

  it("a second replica replays the same book from the streams and shares the limits", async () => {
    const bus2 = await testBus(nats.url, "risk-replica");
    let rt2: RiskRuntime | undefined;
    const svc2 = await startRisk(
      { config, bus: bus2, logger: quietLogger() },
      { port: 0, instanceId: "risk-replica" },
      {
        snapshotIntervalMs: 20,
        onRuntime: (r) => {
          rt2 = r;
        },
      },
    );
    try {
      await eventually(() => rt2?.ready, 5_000, "replay");
      const one = rt.snapshot("default");
      const two = await eventually(
        () => {
          const s = rt2?.snapshot("default");
          return s !== undefined && Math.abs(s.equity - one.equity) < 1e-6 ? s : undefined;
        },
        5_000,
        "the replica's equity",
      );
      expect(two.positions).toEqual(one.positions);
      expect(two.limits.maxPositionSize).toBe(0.1);
      await callTool(bus2, "risk", "set_limits", { max_leverage: 2 });
      await eventually(() => rt.limits().maxLeverage === 2, 5_000, "the first replica to see the new limit");
    } finally {
      await svc2.stop();
    }
  });

  it("is ready and serves /metrics with its own series", async () => {
    expect((await fetch(`${svc.url}/ready`)).status).toBe(200);
    const text = await (await fetch(`${svc.url}/metrics`)).text();
    expect(text).toMatch(/bot4_risk_events_total\{[^}]*kind="fill"[^}]*\} [1-9]/);
    expect(text).toMatch(/bot4_risk_kill_switch\{[^}]*\} 0/);
  });

  it("maps a domain error to a ToolError with InvalidParams", async () => {
    const err = await callTool(bus, "risk", "optimize_portfolio", {
      covariance: [
        [0.01, 0],
        [0, 0.01],
      ],
      max_weight: 0.2,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).message).toMatch(/no weights summing to 1 fit the bounds/);
  });
});
