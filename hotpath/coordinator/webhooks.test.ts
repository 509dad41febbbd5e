import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../core/config.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { eventually, privateNats, testBus } from "../../test/nats.ts";
import { testConfig } from "../kit/testing/agent.ts";
import type { RunningService } from "../kit/types.ts";
import { start } from "./service.ts";
import { retryDelay, webhookHeaders, webhookKind } from "./webhooks.ts";

interface Received {
  headers: IncomingMessage["headers"];
  body: string;
}

/** A local receiver: records every request; `plan(delivery, attempt)` picks the status to answer. */
async function receiver(plan: (delivery: string, attempt: number) => number) {
  const requests: Received[] = [];
  const attempts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => {
      body += d.toString();
    });
    req.on("end", () => {
      requests.push({ headers: req.headers, body });
      const delivery = String(req.headers[webhookHeaders.delivery]);
      const n = (attempts.get(delivery) ?? 0) + 1;
      attempts.set(delivery, n);
      res.writeHead(plan(delivery, n)).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, requests, attempts, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** The receiver's side of the signature check, written from the documented scheme. */
function verify(secret: string, r: Received): boolean {
  const ts = String(r.headers[webhookHeaders.timestamp]);
  const expected = `sha256=${createHmac("sha256", secret).update(`${ts}.${r.body}`).digest("hex")}`;
  const given = String(r.headers[webhookHeaders.signature]);
  return given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}

const SECRET = "webhook-test-secret-0123456789";
const nats = await privateNats();
const bus = await testBus(nats.url, "hooks");
await ensureTopology(bus);

describe("webhooks", () => {
  // The fill's delivery fails twice with 503, then succeeds; every other event succeeds at once.
  let flaky: Awaited<ReturnType<typeof receiver>>;
  // Always answers 400: a client error is not retried.
  let refusing: Awaited<ReturnType<typeof receiver>>;
  let coordinator: RunningService;
  const fill = makeEvent({
    type: "fill.created",
    source: "exchange",
    subject: subjects.trade.fill,
    data: { id: "f1", symbol: "BTC/USDT", side: "buy", amount: 0.5, price: 50_000 },
  });
  beforeAll(async () => {
    flaky = await receiver((delivery, attempt) => (delivery === fill.id && attempt <= 2 ? 503 : 204));
    refusing = await receiver(() => 400);
    coordinator = await start(
      {
        config: testConfig({
          BOT4_WEBHOOK_URLS: `${flaky.url},${refusing.url}`,
          BOT4_WEBHOOK_SECRET: SECRET,
          BOT4_WEBHOOK_BACKOFF_MS: "20",
          BOT4_WEBHOOK_RETRIES: "3",
        }),
        bus,
        logger: quietLogger(),
      },
      { port: 0 },
    );
  });
  afterAll(async () => {
    await coordinator?.stop();
    await flaky?.close();
    await refusing?.close();
  });

  it("posts signed JSON for fills, strategy starts and stops, alerts and the kill switch, retrying failures", async () => {
    const events = [
      fill,
      makeEvent({
        type: "order.filled",
        source: "exchange",
        subject: subjects.trade.order("filled"),
        data: {},
      }),
      makeEvent({
        type: "risk.kill_switch",
        source: "risk",
        subject: subjects.trade.control("kill_switch"),
        data: { reason: "test" },
      }),
      makeEvent({
        type: "strategy.started",
        source: "strategy",
        subject: subjects.events.of("strategy", "started"),
        data: { id: "s1" },
      }),
      makeEvent({
        type: "strategy.stopped",
        source: "strategy",
        subject: subjects.events.of("strategy", "stopped"),
        data: { id: "s1" },
      }),
      makeEvent({
        type: "risk.breach",
        source: "risk",
        subject: subjects.events.of("risk", "breach"),
        data: {},
      }),
      makeEvent({
        type: "signal.created",
        source: "inference",
        subject: subjects.events.signal("BTC/USDT"),
        data: {},
      }),
    ];
    for (const e of events) await bus.publishEvent(e);
    const notified = [0, 2, 3, 4, 5].map((i) => (events[i] as (typeof events)[number]).id);

    await eventually(
      () => flaky.attempts.get(fill.id) === 3 && flaky.attempts.size === 5,
      10_000,
      "deliveries",
    );
    // Every notified event reached the flaky receiver, the fill after two 503s; nothing else was sent.
    expect([...flaky.attempts.keys()].sort()).toEqual([...notified].sort());
    expect(flaky.attempts.get(fill.id)).toBe(3);
    for (const id of notified.filter((id) => id !== fill.id)) expect(flaky.attempts.get(id)).toBe(1);

    for (const r of flaky.requests) {
      expect(r.headers["content-type"]).toBe("application/json");
      expect(verify(SECRET, r)).toBe(true);
      expect(verify("another-secret-0123456789", r)).toBe(false);
    }
    const fillBody = JSON.parse(
      flaky.requests.find((r) => r.headers[webhookHeaders.delivery] === fill.id)?.body ?? "{}",
    );
    expect(fillBody).toEqual({
      kind: "fill",
      id: fill.id,
      type: "fill.created",
      source: "exchange",
      subject: "events.trade.fill",
      time: fill.time,
      data: fill.data,
    });
    const kinds = flaky.requests.map((r) => r.headers[webhookHeaders.kind]);
    expect(new Set(kinds)).toEqual(new Set(["fill", "kill_switch", "strategy", "alert"]));

    // 400 is the receiver's final word: one attempt per event, no retry.
    await eventually(() => refusing.attempts.size === 5, 10_000, "the refusing receiver's deliveries");
    await new Promise((r) => setTimeout(r, 200));
    expect([...refusing.attempts.values()]).toEqual([1, 1, 1, 1, 1]);
  });
});

describe("webhook configuration and rules", () => {
  it("refuses to start without a secret, and names bad variables", async () => {
    await expect(
      start(
        { config: testConfig({ BOT4_WEBHOOK_URLS: "http://127.0.0.1:9/hook" }), bus, logger: quietLogger() },
        { port: 0 },
      ),
    ).rejects.toThrow(/BOT4_WEBHOOK_SECRET is required/);
    expect(() => loadConfig({ BOT4_WEBHOOK_URLS: "ftp://x/y" })).toThrow(ConfigError);
    expect(() => loadConfig({ BOT4_WEBHOOK_URLS: "ftp://x/y" })).toThrow(/BOT4_WEBHOOK_URLS/);
    expect(() => loadConfig({ BOT4_WEBHOOK_EVENTS: "fill,trades" })).toThrow(/BOT4_WEBHOOK_EVENTS/);
    expect(() => loadConfig({ BOT4_WEBHOOK_SECRET: "short" })).toThrow(/BOT4_WEBHOOK_SECRET/);
    expect(loadConfig({ BOT4_WEBHOOK_EVENTS: "fill, kill_switch" }).BOT4_WEBHOOK_EVENTS).toEqual([
      "fill",
      "kill_switch",
    ]);
  });

  it("classifies subjects and backs off exponentially up to 30 s", () => {
    expect(webhookKind("events.trade.fill")).toBe("fill");
    expect(webhookKind("events.trade.control.kill_switch")).toBe("kill_switch");
    expect(webhookKind("events.trade.control.limits")).toBeUndefined();
    expect(webhookKind("events.strategy.started")).toBe("strategy");
    expect(webhookKind("events.strategy.signal")).toBeUndefined();
    expect(webhookKind("events.infra.alert")).toBe("alert");
    expect(webhookKind("events.risk.breach")).toBe("alert");
    expect(webhookKind("market.paper.candle.BTC-USDT")).toBeUndefined();
    expect([1, 2, 3, 4].map((a) => retryDelay(a, 500))).toEqual([500, 1000, 2000, 4000]);
    expect(retryDelay(20, 500)).toBe(30_000);
  });
});
