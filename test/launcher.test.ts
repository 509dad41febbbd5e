import { freePortOffset } from "./ports.ts";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { manifest } from "../core/agents/manifest.ts";
import { agentProcess } from "../core/agents/process.ts";
import { Bus } from "../adapters/nats/bus.ts";
import { quietLogger } from "../core/telemetry/log.ts";
import { CREDENTIALS_FILE } from "../infra/local/credentials.ts";
import { ADMIN_USER, withCredentials } from "../infra/nats/permissions.ts";
import { eventually } from "./nats.ts";

const offset = await freePortOffset();

/**
 * `npm start` end to end: the launcher starts its own nats-server (NATS_URL unset), every service of
 * the manifest on its port (+ offset), and the functions; SIGTERM stops it cleanly.
 */
describe("npm start (embedded default)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "bot4-launch-"));
  const port = (name: string) => (manifest.find((a) => a.name === name) as { port: number }).port + offset;
  let child: ChildProcess | undefined;
  let output = "";
  afterAll(() => {
    child?.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("comes up with the coordinator answering /health and stops on SIGTERM", async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      BOT4_DATA_DIR: dataDir,
      BOT4_PORT_OFFSET: String(offset),
      LOG_LEVEL: "info",
      // Structured (JSON) logs, whatever the terminal: the assertions below read fields of the log lines.
      LOG_FORMAT: "json",
    };
    delete env.NATS_URL;
    const launchedAt = Date.now();
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
    const health = await eventually(
      async () => {
        const res = await fetch(`http://127.0.0.1:${port("coordinator")}/health`);
        return res.ok ? res.json() : undefined;
      },
      60_000,
      "the coordinator's /health",
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n--- launcher output ---\n${output.slice(-4000)}`);
    });
    expect(health).toMatchObject({ status: "ok" });
    // Every function must be running before "up" (the ledger's first PGlite open takes seconds); a
    // launcher that exits meanwhile fails at once, with what it printed.
    const started = await eventually(
      () => (child?.exitCode !== null ? "exited" : output.includes("Bot4 is up") && "up"),
      Math.max(1_000, launchedAt + 120_000 - Date.now()),
      "start-up to finish",
    ).catch((err: unknown) => String(err));
    if (started !== "up")
      throw new Error(
        `${started === "exited" ? `the launcher exited (code ${child.exitCode})` : started}\n--- launcher output ---\n${output.slice(-6000)}`,
      );

    // The seed's JSON-RPC request, verbatim, through the coordinator to RiskQuant over NATS.
    const coordinator = `http://127.0.0.1:${port("coordinator")}`;
    const rpc = await fetch(`${coordinator}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"id":"seed-1","method":"tool.execute","params":{"agent":"riskquant","tool":"calculate_kelly","args":{"win_probability":0.6,"win_return":1.0,"loss_return":-1.0}}}',
    });
    const answer = (await rpc.json()) as {
      id: string;
      result: { kelly_fraction: number; position_size: number };
    };
    expect(answer.id).toBe("seed-1");
    expect(answer.result.kelly_fraction).toBeCloseTo(0.2, 12);
    expect(answer.result.position_size).toBeCloseTo(0.02, 12);

    // The seed's curl against the exchange, without any Binance keys.
    const status = await fetch(`http://127.0.0.1:${port("exchange")}/tools/get_exchange_status`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"exchange":"binance"}',
    });
    expect(status.status).toBe(200);

    // Paper trading end to end: a market order on the simulated market fills through the coordinator.
    const order = (await (
      await fetch(`${coordinator}/rpc`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 2,
          method: "tool.execute",
          params: {
            agent: "exchange",
            tool: "submit_order",
            args: { symbol: "BTC/USDT", side: "buy", type: "market", amount: 0.001 },
          },
        }),
      })
    ).json()) as { result: { order: { status: string; filled: number } } };
    expect(order.result.order).toMatchObject({ status: "filled", filled: 0.001 });

    // The trigger's metrics: the compliance function consumed that order's events.
    const triggerMetrics = `http://127.0.0.1:${agentProcess.triggerPort + offset}/metrics`;
    await eventually(
      async () =>
        /bot4_trigger_messages_total\{[^}]*function="compliance"[^}]*\} [1-9]/.test(
          await (await fetch(triggerMetrics)).text(),
        ),
      10_000,
      "compliance to consume the order's events",
    );

    // Every agent with an implementation heartbeats into the registry and shows up.
    const system = (await (await fetch(`${coordinator}/status`)).json()) as {
      agents: { name: string; health: string }[];
    };
    const up = system.agents.filter((a) => a.health === "up").map((a) => a.name);
    expect(up).toEqual(
      expect.arrayContaining([
        "coordinator",
        "risk",
        "inference",
        "exchange",
        "strategy",
        "compliance",
        "backtesting",
      ]),
    );
    expect(output).toContain("started an embedded nats-server");
    expect(output).toContain("paper trading only");

    // The embedded bus is authenticated: an anonymous client is refused; the operator (admin) user
    // from the 0600 credentials file gets in.
    // The "Bot4 is up" line carries the URLs a user needs, the bus's (redacted) among them.
    const natsUrl = /"nats":"(nats:\/\/[0-9.]+:\d+)"[^\n]*"msg":"Bot4 is up/.exec(output)?.[1];
    expect(natsUrl).toBeDefined();
    await expect(
      Bus.connect({
        url: natsUrl as string,
        name: "anon",
        logger: quietLogger("anon"),
        maxReconnectAttempts: 0,
      }),
    ).rejects.toThrow(/authorization/i);
    const credentialsFile = join(dataDir, CREDENTIALS_FILE);
    expect(statSync(credentialsFile).mode & 0o777).toBe(0o600);
    const credentials = JSON.parse(readFileSync(credentialsFile, "utf8")) as Record<string, string>;
    expect(Object.keys(credentials).sort()).toEqual([ADMIN_USER, ...manifest.map((a) => a.name)].sort());
    const operator = await Bus.connect({
      url: withCredentials(natsUrl as string, ADMIN_USER, credentials[ADMIN_USER] as string),
      name: "operator",
      logger: quietLogger("operator"),
      maxReconnectAttempts: 0,
    });
    expect((await operator.jsm.streams.info("AUDIT")).config.name).toBe("AUDIT");
    await operator.drain();

    // npm start trades by itself: the default paper strategy's first order fills within 2 minutes of start.
    const strategy = await eventually(
      async () => {
        const res = (await (
          await fetch(`${coordinator}/rpc`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              jsonrpc: "2.0",
              id: 3,
              method: "tool.execute",
              params: { agent: "strategy", tool: "get_strategy", args: { id: "default-paper" } },
            }),
          })
        ).json()) as { result?: { status: string; orders: number; fills: number } };
        return res.result !== undefined && res.result.fills > 0 ? res.result : undefined;
      },
      Math.max(1_000, launchedAt + 180_000 - Date.now()),
      "the default strategy's first order and fill",
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n--- launcher output ---\n${output.slice(-4000)}`);
    });
    expect(strategy).toMatchObject({ status: "running" });
    expect(strategy.orders).toBeGreaterThan(0);
    expect(output).toMatch(/"strategy":"default-paper"[^\n]*"outcome":"filled"[^\n]*"msg":"strategy order"/);

    const exited = new Promise<number | null>((resolve) => child?.once("exit", (code) => resolve(code)));
    const stopAt = output.length;
    child.kill("SIGTERM");
    const code = await exited;
    if (code !== 0)
      throw new Error(
        `exit code ${code} on SIGTERM\n--- launcher output ---\n${output.slice(stopAt).slice(-4000)}`,
      );
  }, 240_000);

  it("refuses to start on a bad variable, naming it and the rule", async () => {
    const proc = spawn(process.execPath, ["--import", "tsx", "infra/local/start.ts"], {
      env: { ...process.env, MAX_LEVERAGE: "abc", BOT4_DATA_DIR: dataDir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    proc.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => proc.once("exit", (c) => resolve(c)));
    expect(code).toBe(2);
    expect(stderr).toMatch(/MAX_LEVERAGE: must be a number \(got "abc"\)/);
  }, 30_000);
});
