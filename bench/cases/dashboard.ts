import { Bus } from "../../adapters/nats/bus.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { openBrowser, startBot4 } from "../../test/browser.ts";
import { type BenchCase, type BenchResult, Recorder } from "../harness.ts";

/** The little of the DOM the page predicates below touch (this file is type-checked without lib.dom). */
interface PageDocument {
  querySelectorAll(selector: string): { length: number };
  querySelector(selector: string): { getAttribute(name: string): string | null } | null;
}

const CLIENTS = 10;
const RATE = 1_000;

/** Reads an SSE stream and calls `onData` with each `data:` payload. */
async function readSse(
  url: string,
  signal: AbortSignal,
  onData: (data: string) => void,
  onHello: () => void,
) {
  const res = await fetch(url, { signal });
  if (!res.ok || res.body === null) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (frame.includes("event: hello")) onHello();
        else {
          const at = frame.indexOf("data: ");
          if (at >= 0) onData(frame.slice(at + 6));
        }
        end = buffer.indexOf("\n\n");
      }
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  }
}

/**
 * The dashboard against a whole system started like `npm start` (its own nats-server, every agent):
 * - live fan-out: 1,000 events/s published on the bus, relayed by the coordinator's GET /events to
 *   10 SSE clients (in this process, beside the publisher, so one clock times publish → receipt);
 * - first paint with live data: headless Chromium loading the overview until the agents table
 *   (from /status) is drawn and the event stream is live, cold (first load) and warm (reloads).
 */
const dashboardCase: BenchCase = {
  name: "dashboard",
  order: 90,
  async run({ scale, log }) {
    const results: BenchResult[] = [];
    const bot4 = await startBot4();
    try {
      // The embedded bus is authenticated: the bench publishes as the operator.
      const bus = await Bus.connect({
        url: bot4.operatorNatsUrl(),
        name: "bench-dashboard",
        logger: quietLogger(),
      });
      try {
        // --- fan-out --------------------------------------------------------------------------------
        const seconds = Math.max(3, Math.round(10 * scale));
        const total = seconds * RATE;
        const rec = new Recorder();
        const received = new Array<number>(CLIENTS).fill(0);
        const controller = new AbortController();
        let ready = 0;
        const readers = Array.from({ length: CLIENTS }, (_, i) =>
          readSse(
            `${bot4.url}/events?subject=events.bench.>`,
            controller.signal,
            (data) => {
              const sent = Number(/"sent":([0-9.]+)/.exec(data)?.[1]);
              rec.recordNs((performance.now() - sent) * 1e6);
              received[i] = (received[i] ?? 0) + 1;
            },
            () => {
              ready += 1;
            },
          ),
        );
        while (ready < CLIENTS) await new Promise((r) => setTimeout(r, 10));
        const started = performance.now();
        let sent = 0;
        // 10 events every 10 ms, each stamped with its publish time.
        while (sent < total) {
          const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE) + 1);
          for (; sent < due; sent++) {
            bus.nc.publish(
              "events.bench.tick",
              JSON.stringify({
                id: `b${sent}`,
                subject: "events.bench.tick",
                type: "bench.tick",
                data: { n: sent },
                sent: performance.now(),
              }),
            );
          }
          await new Promise((r) => setTimeout(r, 10));
        }
        const publishSeconds = (performance.now() - started) / 1000;
        const deadline = performance.now() + 10_000;
        while (received.some((n) => n < total) && performance.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
        }
        controller.abort();
        await Promise.allSettled(readers);
        const delivered = received.reduce((a, b) => a + b, 0);
        results.push({
          case: `dashboard fan-out: ${RATE} events/s to ${CLIENTS} SSE clients`,
          unit: "event delivered (publish → client)",
          latency: rec.stats(),
          throughput: Math.round(delivered / publishSeconds),
          notes: {
            published: total,
            delivered,
            lost: CLIENTS * total - delivered,
            published_per_s: Math.round(total / publishSeconds),
            target_p99_ms: 100,
          },
        });
        log(`fan-out: ${delivered} of ${CLIENTS * total} deliveries`);
      } finally {
        await bus.drain();
      }

      // --- first paint with live data ----------------------------------------------------------------
      const browser = await openBrowser();
      try {
        const { page } = browser;
        const loads = Math.max(3, Math.round(10 * scale));
        const painted: number[] = [];
        const fcp: number[] = [];
        for (let i = 0; i < loads; i++) {
          if (i === 0) await page.goto(`${bot4.url}/#/overview`);
          else await page.reload();
          // Milliseconds since navigation start when the agents table and the live stream are both there.
          const at = await page.waitForFunction(
            () => {
              const doc = (globalThis as unknown as { document: PageDocument }).document;
              return doc.querySelectorAll("#agents tbody tr").length > 0 &&
                doc.querySelector("#live-status")?.getAttribute("data-status") === "live"
                ? performance.now()
                : false;
            },
            undefined,
            { polling: "raf", timeout: 30_000 },
          );
          painted.push(Number(await at.jsonValue()));
          fcp.push(
            await page.evaluate(
              () => performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? Number.NaN,
            ),
          );
        }
        const stats = (values: number[]) => {
          const rec = new Recorder();
          for (const v of values) rec.recordNs(v * 1e6);
          return rec.stats();
        };
        results.push({
          case: "dashboard first paint with live data (cold load)",
          unit: "page load → agents table + live stream",
          latency: stats(painted.slice(0, 1)),
          notes: { first_contentful_paint_ms: Math.round(fcp[0] ?? Number.NaN), target_ms: 1_000 },
        });
        results.push({
          case: "dashboard first paint with live data (reloads)",
          unit: "page load → agents table + live stream",
          latency: stats(painted.slice(1)),
          notes: {
            loads: painted.length - 1,
            first_contentful_paint_p50_ms: Math.round(
              [...fcp.slice(1)].sort((a, b) => a - b)[Math.floor((fcp.length - 1) / 2)] ?? 0,
            ),
            target_ms: 1_000,
          },
        });
        if (browser.errors.length > 0) log(`console errors: ${browser.errors.join(" | ")}`);
      } finally {
        await browser.close();
      }
    } finally {
      await bot4.stop();
    }
    return results;
  },
};

export default dashboardCase;
