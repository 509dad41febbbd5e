import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findAgent, type ServiceAgent } from "../../core/agents/manifest.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { openBrowser } from "../../test/browser.ts";
import { eventually, privateNats, testBus } from "../../test/nats.ts";
import { startService } from "../kit/service.ts";
import { testConfig, testSpec } from "../kit/testing/agent.ts";
import type { RunningService } from "../kit/types.ts";
import { subjectMatches } from "./live.ts";
import { start } from "./service.ts";

const nats = await privateNats();
const bus = await testBus(nats.url, "dash");
const agentBus = await testBus(nats.url, "dash-agent");
await ensureTopology(bus);

const KEY = "dashboard-test-key-0123456789";
let open: RunningService;
let keyed: RunningService;
let agent: RunningService;
beforeAll(async () => {
  agent = await startService(
    testSpec(findAgent("risk") as ServiceAgent, "risk-1"),
    { config: testConfig(), bus: agentBus, logger: quietLogger() },
    { port: 0, instanceId: "risk-1" },
  );
  open = await start({ config: testConfig(), bus, logger: quietLogger() }, { port: 0 });
  keyed = await start(
    { config: testConfig({ BOT4_API_KEYS: KEY }), bus, logger: quietLogger() },
    { port: 0, instanceId: "keyed" },
  );
});
afterAll(async () => {
  await keyed.stop();
  await open.stop();
  await agent.stop();
});

/** An SSE client over fetch: collects the `data:` envelopes of every frame. */
async function sse(url: string, init: RequestInit = {}) {
  const controller = new AbortController();
  const res = await fetch(url, { ...init, signal: controller.signal });
  const events: { subject: string; data: unknown }[] = [];
  let hello: unknown;
  const done = (async () => {
    if (!res.ok || res.body === null) return;
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame
            .split("\n")
            .filter((l) => l.startsWith("data: "))
            .map((l) => l.slice(6))
            .join("\n");
          if (frame.includes("event: hello")) hello = JSON.parse(data);
          else if (data) events.push(JSON.parse(data));
          end = buffer.indexOf("\n\n");
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    res,
    events,
    hello: () => hello,
    close: async () => {
      controller.abort();
      await done;
    },
  };
}

const liveClients = async (service: RunningService) => {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  return Number(/^bot4_live_clients(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1]);
};

describe("subject patterns", () => {
  it("match like NATS wildcards", () => {
    expect(subjectMatches("events.>", "events.trade.fill")).toBe(true);
    expect(subjectMatches("events.>", "events")).toBe(false);
    expect(subjectMatches("market.*.candle.>", "market.paper.candle.BTC-USDT")).toBe(true);
    expect(subjectMatches("market.*.candle.>", "market.paper.book.BTC-USDT")).toBe(false);
    expect(subjectMatches("events.trade.fill", "events.trade.fill")).toBe(true);
    expect(subjectMatches("events.trade.fill", "events.trade.fill.x")).toBe(false);
    expect(subjectMatches("events.*", "events.trade.fill")).toBe(false);
  });
});

describe("the dashboard's static shell", () => {
  it("serves the page, its modules and the vendored libraries without bare imports", async () => {
    const page = await fetch(`${open.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(await page.text()).toContain('src="/ui/app.js"');
    const app = await fetch(`${open.url}/ui/app.js`);
    expect(app.headers.get("content-type")).toMatch(/javascript/);
    for (const name of ["preact-hooks.mjs", "htm-preact.mjs"]) {
      const text = await (await fetch(`${open.url}/ui/vendor/${name}`)).text();
      expect(text).toContain('from"./preact.mjs"');
      expect(text).not.toMatch(/from ?"(preact|htm)"/);
    }
    const charts = await fetch(`${open.url}/ui/vendor/lightweight-charts.mjs`);
    expect(await charts.text()).toContain("createChart");
    const etag = charts.headers.get("etag") ?? "";
    const again = await fetch(`${open.url}/ui/vendor/lightweight-charts.mjs`, {
      headers: { "if-none-match": etag },
    });
    expect(again.status).toBe(304);
    expect((await fetch(`${open.url}/ui/nope.js`)).status).toBe(404);
    expect(await (await fetch(`${open.url}/ui/session`)).json()).toEqual({ auth: false });
  });

  it("is open without a key when keys are set, while the API and the event stream are not", async () => {
    expect((await fetch(`${keyed.url}/`)).status).toBe(200);
    expect((await fetch(`${keyed.url}/ui/app.js`)).status).toBe(200);
    expect(await (await fetch(`${keyed.url}/ui/session`)).json()).toEqual({ auth: true });
    expect((await fetch(`${keyed.url}/events`)).status).toBe(401);
    expect((await fetch(`${keyed.url}/tools`)).status).toBe(401);
    const withKey = await sse(`${keyed.url}/events`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(withKey.res.status).toBe(200);
    expect(withKey.res.headers.get("content-type")).toMatch(/text\/event-stream/);
    await withKey.close();
  });
});

describe("GET /events", () => {
  it("fans bus events out to every client whose subjects match, in order", async () => {
    const all = await sse(`${open.url}/events`);
    const fills = await sse(`${open.url}/events?subject=events.trade.fill`);
    const candles = await sse(`${open.url}/events?subject=market.*.candle.>&subject=events.risk.>`);
    await eventually(() => all.hello() && fills.hello() && candles.hello(), 5_000, "hello frames");
    expect(candles.hello()).toMatchObject({ subjects: ["market.*.candle.>", "events.risk.>"] });
    expect(await liveClients(open)).toBe(3);

    const published = [
      makeEvent({ type: "fill.created", source: "exchange", subject: subjects.trade.fill, data: { n: 1 } }),
      makeEvent({
        type: "candle.closed",
        source: "exchange",
        subject: subjects.market.of("paper", "candle", "BTC/USDT"),
        data: { n: 2 },
      }),
      makeEvent({
        type: "order.filled",
        source: "exchange",
        subject: subjects.trade.order("filled"),
        data: { n: 3 },
      }),
      makeEvent({ type: "fill.created", source: "exchange", subject: subjects.trade.fill, data: { n: 4 } }),
      makeEvent({
        type: "risk.breach",
        source: "risk",
        subject: subjects.events.of("risk", "breach"),
        data: { n: 5 },
      }),
    ];
    for (const e of published) await bus.publishEvent(e);

    const n = (list: { data: unknown }[]) => list.map((e) => (e.data as { n: number }).n);
    await eventually(() => all.events.length >= 5, 5_000, "all five events");
    await eventually(() => fills.events.length >= 2 && candles.events.length >= 2, 5_000, "filtered events");
    expect(n(all.events)).toEqual([1, 2, 3, 4, 5]);
    expect(n(fills.events)).toEqual([1, 4]);
    expect(n(candles.events)).toEqual([2, 5]);
    expect(all.events[0]).toMatchObject({
      subject: "events.trade.fill",
      type: "fill.created",
      source: "exchange",
    });

    await Promise.all([all.close(), fills.close(), candles.close()]);
    await eventually(async () => (await liveClients(open)) === 0, 5_000, "closed streams to be dropped");
  });

  it("refuses a subject outside events. and market. with 400 naming the field", async () => {
    for (const bad of ["tools.risk", "audit.>", "events..x", "cmd.backtesting.>"]) {
      const res = await fetch(`${open.url}/events?subject=${encodeURIComponent(bad)}`);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: number; data: { issues: { path: string }[] } } };
      expect(body.error.code).toBe(-32602);
      expect(body.error.data.issues[0]?.path).toMatch(/^subject/);
    }
    expect(await liveClients(open)).toBe(0);
  });
});

describe("the key login in Chromium", () => {
  it("asks for the key, refuses a wrong one, and shows the dashboard with the right one", async () => {
    const browser = await openBrowser();
    try {
      const { page } = browser;
      await page.goto(`${keyed.url}/`);
      await page.waitForSelector("#login");
      await page.fill("#login input[name=key]", "wrong-key");
      await page.click("#login button[type=submit]");
      await page.getByText("That key was refused").waitFor();
      await page.fill("#login input[name=key]", KEY);
      await page.click("#login button[type=submit]");
      await page.waitForSelector("#agents tbody tr");
      await page.waitForSelector("#live-status[data-status=live]");
      const risk = page.locator("#agents tbody tr", { hasText: "risk" }).first();
      expect(await risk.locator(".badge").textContent()).toBe("up");
      await browser.screenshot("login-then-overview");
      // The only errors are the wrong key's 401s.
      expect(browser.errors.filter((e) => !e.includes("401"))).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
