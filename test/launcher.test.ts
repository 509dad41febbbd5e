import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { manifest } from "../core/agents/manifest.ts";
import { eventually } from "./nats.ts";

/**
 * `npm start` end to end: the launcher starts its own nats-server (NATS_URL unset), every service of
 * the manifest on its port (+ offset), and the functions; SIGTERM stops it cleanly.
 */
describe("npm start (embedded default)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "bot4-launch-"));
  const offset = 20_000 + Math.floor(Math.random() * 20_000);
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
    await eventually(() => output.includes("Bot4 is up"), 60_000, "start-up to finish");
    expect(output).toContain("started an embedded nats-server");

    const exited = new Promise<number | null>((resolve) => child?.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 90_000);
});
