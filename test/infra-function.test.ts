import { AckPolicy } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findAgent, type ServiceAgent } from "../core/agents/manifest.ts";
import type { Bus } from "../adapters/nats/bus.ts";
import { callTool } from "../adapters/nats/tool-transport.ts";
import { ensureTopology } from "../adapters/nats/topology.ts";
import { makeEvent } from "../core/protocol/envelope.ts";
import { subjects } from "../core/subjects.ts";
import { quietLogger } from "../core/telemetry/log.ts";
import { testConfig, testSpec } from "../hotpath/kit/testing/agent.ts";
import { startService } from "../hotpath/kit/service.ts";
import type { RunningService } from "../hotpath/kit/types.ts";
import { eventually, privateNats, testBus } from "./nats.ts";
import { type LocalFunctions, startLocalFunctions } from "../functions/local.ts";
import { envelopeOf, events as catalogue } from "../core/events/catalogue.ts";
import { alertSubject } from "../functions/infra/function.ts";
import { defaultRules, durationMs } from "../functions/infra/rules.ts";

/**
 * The InfraEngineer against a real nats-server, a real service instance and a real JetStream
 * consumer, with a 300 ms cycle: stopping the instance fires AgentDown within the rule's `for` (plus
 * one cycle) and starting it again resolves it; a consumer that stops acking fires ConsumerLagGrowing.
 */
const INTERVAL_MS = 300;
/** Scheduling and delivery on a loaded 2-core machine, on top of the cycles the bound counts. */
const SLACK_MS = 3_000;
const forOf = (alert: string) => durationMs(defaultRules.find((r) => r.alert === alert)?.for ?? "0s");

describe("InfraEngineer", () => {
  let bus: Bus;
  let functions: LocalFunctions;
  const config = testConfig({ INFRA_INTERVAL_MS: String(INTERVAL_MS), VALIDATE_ON_REGISTER: "false" });
  const logger = quietLogger("infra-test");
  const seen: { type: string; id: string; labels: Record<string, string>; at: number }[] = [];
  /** Published alerts that are not their catalogue entry's envelope (type and data of its schema). */
  const offCatalogue: unknown[] = [];
  const risk = findAgent("risk") as ServiceAgent;
  let service: RunningService | undefined;

  beforeAll(async () => {
    const nats = await privateNats();
    bus = await testBus(nats.url);
    await ensureTopology(bus);
    const sub = bus.nc.subscribe(alertSubject);
    void (async () => {
      for await (const m of sub) {
        const e = JSON.parse(m.string()) as {
          type: string;
          data: { id: string; labels: Record<string, string> };
        };
        seen.push({ type: e.type, id: e.data.id, labels: e.data.labels, at: Date.now() });
        const Envelope =
          e.type === catalogue.infra.resolved.type
            ? envelopeOf(catalogue.infra.resolved)
            : envelopeOf(catalogue.infra.firing);
        if (!Envelope.safeParse(e).success) offCatalogue.push(e);
      }
    })();
    service = await startService(testSpec(risk), { config, bus, logger }, { port: 0 });
    functions = await startLocalFunctions({ config, bus, logger }, { only: ["infra"] });
    expect(functions.running).toEqual(["infra"]);
  }, 30_000);

  afterAll(async () => {
    await service?.stop();
    await functions?.stop();
  });

  const health = () =>
    callTool(bus, "infra", "health_report", {}, { timeout: 5_000 }) as Promise<{
      agents: { agent: string; state: string; instances: number; scrape: string }[];
    }>;

  it("lists every manifest agent with its state, and the running instance as up with its metrics scraped", async () => {
    const report = await eventually(
      async () => {
        const r = await health();
        return r.agents.find((a) => a.agent === "risk")?.state === "up" ? r : undefined;
      },
      10_000,
      "risk to be up in health_report",
    );
    expect(report.agents.map((a) => a.agent).sort()).toEqual(
      [
        "architect",
        "backtesting",
        "compliance",
        "coordinator",
        "exchange",
        "inference",
        "infra",
        "integration",
        "ledger",
        "quality",
        "risk",
        "strategy",
      ].sort(),
    );
    expect(report.agents.find((a) => a.agent === "risk")).toMatchObject({ instances: 1, scrape: "ok" });
    expect(report.agents.find((a) => a.agent === "architect")?.state).toBe("absent");
  }, 20_000);

  it("agent down fires within its `for` after the instance stops and resolves after it is back; a consumer that stops acking fires a lag alert", async () => {
    await eventually(
      async () => (await health()).agents.find((a) => a.agent === "risk")?.state === "up",
      10_000,
    );

    // A consumer on EVENTS that takes deliveries but never acks while events keep arriving.
    const durable = "watch_test_noack";
    await bus.jsm.consumers.add("EVENTS", {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      filter_subject: "events.watchtest.>",
      ack_wait: 60_000_000_000,
    });
    const consumer = await bus.js.consumers.get("EVENTS", durable);
    let publishing = true;
    const publisher = (async () => {
      for (let i = 0; publishing; i++) {
        await bus.publishEvent(
          makeEvent({
            type: "watchtest.tick",
            source: "test",
            subject: subjects.events.of("watchtest", "tick"),
            data: { i },
          }),
        );
        const batch = await consumer.fetch({ max_messages: 1, expires: 1_000 });
        for await (const _m of batch) {
          // delivered, never acked
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    try {
      const stoppedAt = Date.now();
      await service?.stop();
      service = undefined;
      const fired = await eventually(
        () => seen.find((e) => e.type === "alert.firing" && e.id === 'AgentDown{agent="risk"}'),
        forOf("AgentDown") + 10_000,
        "AgentDown for risk",
      );
      const elapsed = fired.at - stoppedAt;
      expect(elapsed).toBeGreaterThanOrEqual(forOf("AgentDown"));
      // Within `for` plus two cycles (the one that saw it gone and the one that fired) and delivery.
      expect(elapsed).toBeLessThanOrEqual(forOf("AgentDown") + 2 * INTERVAL_MS + SLACK_MS);
      expect((await health()).agents.find((a) => a.agent === "risk")?.state).toBe("down");
      const alerts = (await callTool(bus, "infra", "get_alerts", {})) as {
        alerts: { alert: string; labels: { agent?: string } }[];
      };
      expect(alerts.alerts.some((a) => a.alert === "AgentDown" && a.labels.agent === "risk")).toBe(true);

      const lag = await eventually(
        () => seen.find((e) => e.type === "alert.firing" && e.labels.consumer === durable),
        forOf("ConsumerLagGrowing") + 10_000,
        "a lag alert for the consumer that stopped acking",
      );
      expect(lag.id).toBe(`ConsumerLagGrowing{consumer="${durable}",stream="EVENTS"}`);

      const restartedAt = Date.now();
      service = await startService(testSpec(risk), { config, bus, logger }, { port: 0 });
      const resolved = await eventually(
        () => seen.find((e) => e.type === "alert.resolved" && e.id === 'AgentDown{agent="risk"}'),
        10_000,
        "AgentDown to resolve",
      );
      expect(resolved.at - restartedAt).toBeLessThanOrEqual(2 * INTERVAL_MS + SLACK_MS);
      // Once each: no flapping.
      await new Promise((r) => setTimeout(r, 4 * INTERVAL_MS));
      const mine = seen.filter((e) => e.id === 'AgentDown{agent="risk"}').map((e) => e.type);
      expect(mine).toEqual(["alert.firing", "alert.resolved"]);
      expect(seen.filter((e) => e.id === lag.id && e.type === "alert.firing")).toHaveLength(1);
      expect(offCatalogue).toEqual([]);
    } finally {
      publishing = false;
      await publisher.catch(() => {});
    }
  }, 60_000);

  it("shows firing alerts in the coordinator's /status", async () => {
    const { systemStatus } = await import("../hotpath/coordinator/status.ts");
    const status = await systemStatus(bus, 3_000);
    expect(Array.isArray(status.alerts)).toBe(true);
    expect(status.alerts?.some((a) => a.alert === "ConsumerLagGrowing")).toBe(true);
  }, 20_000);
});
