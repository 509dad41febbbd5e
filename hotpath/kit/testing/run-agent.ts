/**
 * A kit-served test agent in its own process, for tests that kill an instance: connects to NATS_URL,
 * serves the test tools as the manifest agent AGENT (default risk) labelled SERVED_BY, and prints
 * one JSON line `{"url","instanceId"}` once it serves.
 */
import { findAgent, type ServiceAgent } from "../../../core/agents/manifest.ts";
import { Bus } from "../../../adapters/nats/bus.ts";
import { quietLogger } from "../../../core/telemetry/log.ts";
import { startService } from "../service.ts";
import { testConfig, testSpec } from "./agent.ts";

const url = process.env.NATS_URL;
if (url === undefined) throw new Error("NATS_URL is required");
const agent = findAgent(process.env.AGENT ?? "risk");
if (agent?.kind !== "service") throw new Error(`not a service agent: ${process.env.AGENT}`);
const logger = quietLogger("test-agent");
const bus = await Bus.connect({ url, name: "test-agent", logger });
const svc = await startService(
  testSpec(agent as ServiceAgent, process.env.SERVED_BY ?? "child"),
  { config: testConfig(), bus, logger },
  { port: 0, handleSignals: true },
);
process.stdout.write(`${JSON.stringify({ url: svc.url, instanceId: svc.instanceId })}\n`);
