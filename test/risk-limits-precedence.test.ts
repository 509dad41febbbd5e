import { describe, expect, it } from "vitest";
import { ensureTopology } from "../adapters/nats/topology.ts";
import { loadConfig } from "../core/config.ts";
import { subjects } from "../core/subjects.ts";
import { quietLogger } from "../core/telemetry/log.ts";
import { privateNats, testBus } from "./nats.ts";
import { storedEvents, toolPoster } from "../hotpath/exchange/testing.ts";
import { startRisk } from "../hotpath/risk/service.ts";

/**
 * The precedence of risk limits: a limit variable the environment names at start replaces the stored
 * value (logged, and recorded as limits.changed with the previous value); a set_limits change lasts
 * until the environment names that variable again; a start that names nothing changes nothing.
 */
const nats = await privateNats();
const bus = await testBus(nats.url, "limits-precedence");
await ensureTopology(bus);
const logger = quietLogger();

async function withRisk<T>(
  env: Record<string, string>,
  fn: (post: ReturnType<typeof toolPoster>) => Promise<T>,
) {
  const svc = await startRisk({ config: loadConfig(env), bus, logger }, { port: 0 }, { env });
  try {
    return await fn(toolPoster(() => svc.url));
  } finally {
    await svc.stop();
  }
}
const limitOf = async (post: ReturnType<typeof toolPoster>) =>
  ((await post("risk_metrics", {})).body.limits as { max_position_size: number }).max_position_size;
const limitEvents = async () =>
  (await storedEvents(bus)).filter((e) => e.subject === subjects.trade.control("limits"));

describe("risk limits: environment at start vs stored vs set_limits", () => {
  it("stores the configured limits first, keeps a set_limits change, and lets a named variable replace it", async () => {
    await withRisk({}, async (post) => {
      expect(await limitOf(post)).toBe(0.02);
      expect((await post("set_limits", { max_position_size: 0.03, reason: "test" })).status).toBe(200);
    });
    expect((await limitEvents()).length).toBe(2); // stored at first start, then set_limits

    // Nothing named: the set_limits value stays, nothing is recorded.
    await withRisk({}, async (post) => expect(await limitOf(post)).toBe(0.03));
    // Another variable named: MAX_POSITION_SIZE keeps its set_limits value.
    await withRisk({ MAX_LEVERAGE: "2" }, async (post) => expect(await limitOf(post)).toBe(0.03));
    // The variable named again: it wins, and the change is recorded with the previous value.
    await withRisk({ MAX_POSITION_SIZE: "0.05" }, async (post) => expect(await limitOf(post)).toBe(0.05));
    const events = await limitEvents();
    expect(events).toHaveLength(4);
    const last = events[3]?.data as {
      previous: { maxPositionSize: number };
      limits: { maxPositionSize: number };
      changed: string[];
      reason: string;
    };
    expect(last.previous.maxPositionSize).toBe(0.03);
    expect(last.limits.maxPositionSize).toBe(0.05);
    expect(last.changed).toEqual(["maxPositionSize"]);
    expect(last.reason).toMatch(/MAX_POSITION_SIZE=0.05/);
    const leverage = events[2]?.data as { changed: string[]; previous: { maxLeverage: number } };
    expect(leverage.changed).toEqual(["maxLeverage"]);
    expect(leverage.previous.maxLeverage).toBe(3);
  }, 30_000);
});
