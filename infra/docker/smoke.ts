import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { functionAgents, serviceAgents } from "../../core/agents/manifest.ts";
import { agentProcess } from "../../core/agents/process.ts";
import { freePort, startNatsServer } from "../nats-server/process.ts";
import { ADMIN_USER, issuePasswords, withCredentials } from "../nats/permissions.ts";
import { NATS_CONFIG_PATH } from "../nats/render.ts";
import { probe } from "./healthcheck.ts";

/**
 * `npm run infra:smoke`: every container role of the manifest, run the way the image runs it (the
 * ENTRYPOINT command, AGENT, NATS_URL with the agent's own user) against a private nats-server with
 * the generated configuration, without Docker. Each role must become healthy and exit 0 on SIGTERM;
 * prints the start-up time of each. Function agents without a function.ts are reported and skipped.
 */
const root = fileURLToPath(new URL("../../", import.meta.url));

interface Outcome {
  role: string;
  user: string;
  healthyMs?: number;
  exitCode?: number | null;
  error?: string;
}

async function runRole(
  role: string,
  user: string,
  url: (u: string) => string,
  extra: Record<string, string>,
) {
  const [cmd, ...args] = agentProcess.entryCommand;
  let offset = 0;
  while (offset === 0) {
    const p = await freePort();
    if (p > 9100 && p - 9100 <= 50_000) offset = p - 9100;
  }
  const env = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    LOG_LEVEL: "warn",
    BOT4_HOST: "127.0.0.1",
    BOT4_PORT_OFFSET: String(offset),
    [agentProcess.roleVariable]: role,
    NATS_URL: url(user),
    ...extra,
  };
  const started = Date.now();
  const child = spawn(cmd ?? "node", args, { cwd: root, env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const outcome: Outcome = { role: extra[agentProcess.functionsVariable] ?? role, user };
  if (role === agentProcess.topologyRole) {
    // A one-shot job: done is healthy.
    outcome.exitCode = await exited;
    outcome.healthyMs = Date.now() - started;
    if (outcome.exitCode !== 0) outcome.error = stderr.trim();
    return outcome;
  }
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && child.exitCode === null) {
    if (await probe(env, 1_000)) {
      outcome.healthyMs = Date.now() - started;
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGTERM");
  outcome.exitCode = await exited;
  if (outcome.healthyMs === undefined || outcome.exitCode !== 0)
    outcome.error = stderr.trim().split("\n").slice(-3).join(" | ");
  return outcome;
}

async function main(): Promise<number> {
  const passwords = issuePasswords((n) => randomBytes(n).toString("hex"));
  const nats = await startNatsServer({ configFile: join(root, NATS_CONFIG_PATH) });
  const url = (user: string) => withCredentials(nats.url, user, passwords.get(user) ?? "");
  const outcomes: Outcome[] = [];
  try {
    const topology = await runRole(agentProcess.topologyRole, ADMIN_USER, url, {});
    outcomes.push(topology);
    for (const agent of serviceAgents) outcomes.push(await runRole(agent.name, agent.name, url, {}));
    for (const fn of functionAgents) {
      if (!existsSync(join(root, "functions", fn.name, "function.ts"))) {
        outcomes.push({ role: fn.name, user: fn.name, error: "no function.ts yet (skipped)" });
        continue;
      }
      outcomes.push(
        await runRole(agentProcess.triggerRole, fn.name, url, { [agentProcess.functionsVariable]: fn.name }),
      );
    }
  } finally {
    await nats.stop({ clean: true });
  }
  console.table(outcomes);
  const failed = outcomes.filter(
    (o) => o.exitCode !== undefined && (o.exitCode !== 0 || o.healthyMs === undefined),
  );
  return failed.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
