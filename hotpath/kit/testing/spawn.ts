import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";

const root = fileURLToPath(new URL("../../../", import.meta.url));

export interface SpawnedAgent {
  child: ChildProcess;
  url: string;
  instanceId: string;
  /** Resolves with the exit code (or the signal) once the process ends. */
  exited: Promise<number | NodeJS.Signals | null>;
}

/**
 * Starts `run-agent.ts` in its own process (so a test can SIGTERM or SIGKILL it), waits for the line
 * it prints once it serves, and kills it after the file if it is still running.
 */
export function spawnAgent(natsUrl: string, servedBy: string): Promise<SpawnedAgent> {
  const child = spawn(process.execPath, ["--import", "tsx", "hotpath/kit/testing/run-agent.ts"], {
    cwd: root,
    env: { ...process.env, NATS_URL: natsUrl, SERVED_BY: servedBy, LOG_LEVEL: "silent" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal)),
  );
  afterAll(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  return new Promise((resolve, reject) => {
    void exited.then((code) => reject(new Error(`test agent exited with ${code} before serving`)));
    createInterface({ input: child.stdout! }).once("line", (line) => {
      const { url, instanceId } = JSON.parse(line) as { url: string; instanceId: string };
      resolve({ child, url, instanceId, exited });
    });
  });
}
