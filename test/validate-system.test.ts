import { freePortOffset } from "./ports.ts";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { manifest } from "../core/agents/manifest.ts";
import { bot4 } from "./cli.ts";
import { eventually } from "./nats.ts";

const offset = await freePortOffset();

/**
 * The IntegrationValidator against the whole system as `npm start` starts it: every tool of every
 * running agent, over HTTP, JSON-RPC, NATS and MCP, with the default number of inputs, through the
 * CLI (`bot4 validate --json`), must report zero failures — and every running agent must serve
 * exactly the tools the manifest lists for it.
 */
describe("bot4 validate against npm start", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "bot4-validate-"));
  const coordinatorPort = (manifest.find((a) => a.name === "coordinator") as { port: number }).port + offset;
  const coordinator = `http://127.0.0.1:${coordinatorPort}`;
  let child: ChildProcess | undefined;
  let output = "";
  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once("exit", resolve));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      child.kill("SIGKILL");
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  const cli = (args: string[]) => bot4([...args, "--url", coordinator]);

  it("checks every tool of every running agent with zero failures", async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      BOT4_DATA_DIR: dataDir,
      BOT4_PORT_OFFSET: String(offset),
      LOG_LEVEL: "info",
      // The validation under test is the one asked for, not one per agent registering at start.
      VALIDATE_ON_REGISTER: "false",
    };
    delete env.NATS_URL;
    child = spawn(process.execPath, ["--import", "tsx", "infra/local/start.ts"], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    await eventually(() => output.includes("Bot4 is up"), 90_000, "npm start to come up").catch(
      (err: unknown) => {
        throw new Error(`${String(err)}\n--- launcher output ---\n${output.slice(-4000)}`);
      },
    );

    // Every running agent registers exactly the manifest's tools.
    const listing = (await (await fetch(`${coordinator}/tools`)).json()) as {
      agents: { agent: string; available: boolean; tools: { name: string }[] }[];
    };
    const running = listing.agents.filter((a) => a.available);
    expect(running.map((a) => a.agent)).toEqual(
      expect.arrayContaining([
        "coordinator",
        "risk",
        "inference",
        "exchange",
        "compliance",
        "backtesting",
        "infra",
        "integration",
      ]),
    );
    for (const a of running) {
      const declared = Object.keys(manifest.find((m) => m.name === a.agent)?.tools ?? {}).sort();
      expect({ agent: a.agent, tools: a.tools.map((t) => t.name).sort() }).toEqual({
        agent: a.agent,
        tools: declared,
      });
    }

    const run = await cli(["validate", "--json"]);
    const report = JSON.parse(run.stdout || "{}") as {
      run_id: string;
      passed: boolean;
      totals: { tools: number; inputs: number; failures: number };
      failures: unknown[];
      tools: { agent: string; tool: string; inputs: number }[];
    };
    expect(run.stderr).toBe("");
    expect(report.failures).toEqual([]);
    expect(report.totals.failures).toBe(0);
    expect(run.code).toBe(0);
    const toolCount = running.reduce((n, a) => n + a.tools.length, 0);
    expect(report.totals.tools).toBe(toolCount);
    expect(report.totals.inputs).toBeGreaterThan(toolCount * 10);

    // The report is stored (object store) and readable by run id.
    const stored = await eventually(
      async () => {
        const res = await fetch(`${coordinator}/rpc`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            jsonrpc: "2.0",
            id: 1,
            method: "tool.execute",
            params: { agent: "integration", tool: "validation_report", args: { run_id: report.run_id } },
          }),
        });
        const body = (await res.json()) as { result?: { status: string; report?: { run_id: string } } };
        return body.result?.status === "done" ? body.result : undefined;
      },
      10_000,
      "the stored report",
    );
    expect(stored.report?.run_id).toBe(report.run_id);

    // The human-readable form says what was checked.
    const text = await cli(["validate", "--agent", "risk"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^validation \S+: 8 tools of 1 agents, \d+ inputs \(50 generated per tool\), 0 failures/,
    );
  }, 240_000);
});
