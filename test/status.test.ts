import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findAgent, type ServiceAgent } from "../core/agents/manifest.ts";
import { ensureTopology } from "../adapters/nats/topology.ts";
import { loadConfig } from "../core/config.ts";
import { quietLogger } from "../core/telemetry/log.ts";
import { eventually, privateNats, testBus } from "./nats.ts";
import type { RunningService } from "../hotpath/kit/types.ts";
import { start as startRisk } from "../hotpath/risk/service.ts";
import { systemStatus } from "../hotpath/coordinator/status.ts";

const nats = await privateNats();
const bus = await testBus(nats.url, "status-urls");
await ensureTopology(bus);
const config = loadConfig({});
const risk = findAgent("risk") as ServiceAgent;

let svc: RunningService;
beforeAll(async () => {
  // Port 0: the OS picks the port, as BOT4_PORT_OFFSET moves it away from the manifest's 8081.
  svc = await startRisk({ config, bus, logger: quietLogger() }, { port: 0, instanceId: "risk-shifted" });
});
afterAll(async () => {
  await svc.stop();
});

describe("/status", () => {
  it("reports the URL and port the instance registered, not the manifest's port", async () => {
    expect(svc.port).not.toBe(risk.port);
    const status = await eventually(async () => {
      const s = await systemStatus(bus);
      const r = s.agents.find((a) => a.name === "risk");
      return r?.health === "up" ? r : undefined;
    });
    expect(status.url).toBe(svc.url);
    expect(status.port).toBe(svc.port);
    expect(status.manifest_port).toBe(risk.port);
    expect(status.instances.map((i) => i.url)).toEqual([svc.url]);
    // An agent with no live instance has no URL and no port to claim.
    const inference = (await systemStatus(bus)).agents.find((a) => a.name === "inference");
    expect(inference).toMatchObject({ health: "down", manifest_port: 8082 });
    expect(inference?.port).toBeUndefined();
  });
});
