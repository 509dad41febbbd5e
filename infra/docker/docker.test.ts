import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { functionAgents, manifest, serviceAgents } from "../../core/agents/manifest.ts";
import { agentProcess } from "../../core/agents/process.ts";
import { Bus } from "../../adapters/nats/bus.ts";
import { tradeEventType } from "../../core/domain/trading.ts";
import { freePort } from "../nats-server/process.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { streams, subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { eventually, privateNats } from "../../test/nats.ts";
import { repoRoot } from "../generate.ts";
import { ADMIN_USER, issuePasswords, withCredentials } from "../nats/permissions.ts";
import { NATS_CONFIG_PATH } from "../nats/render.ts";
import { EntryEnv } from "./entry.ts";
import { healthUrl, probe } from "./healthcheck.ts";

const dockerfile = readFileSync(join(repoRoot, agentProcess.dockerfile), "utf8");
/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
const instructions = dockerfile
  .replace(/\\\n\s*/g, " ")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l.length > 0 && !l.startsWith("#"));
const stages = instructions.reduce<string[][]>((acc, line) => {
  if (line.startsWith("FROM ")) acc.push([line]);
  else acc.at(-1)?.push(line);
  return acc;
}, []);
const finalStage = stages.at(-1) ?? [];
const execForm = (line: string | undefined, keyword: string) =>
  JSON.parse(line?.slice(line.indexOf("[", line.indexOf(keyword))) ?? "null") as string[];

describe("infra/docker/Dockerfile, checked without a Docker engine", () => {
  it("is multi-stage and installs production dependencies only", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const deps = stages.find((s) => s[0]?.endsWith(" AS deps")) ?? [];
    expect(deps.some((l) => /^RUN .*npm ci --omit=dev/.test(l))).toBe(true);
    expect(finalStage.some((l) => l.startsWith("COPY --from=deps /app/node_modules"))).toBe(true);
    expect(finalStage.some((l) => /^COPY \. /.test(l))).toBe(false);
  });

  it("runs as a non-root user from before the entry point", () => {
    const users = finalStage.filter((l) => l.startsWith("USER "));
    expect(users.length).toBeGreaterThan(0);
    const last = users.at(-1)?.slice(5).trim();
    expect(last).not.toMatch(/^(root|0)(:|$)/);
    expect(finalStage.findIndex((l) => l.startsWith("USER "))).toBeLessThan(
      finalStage.findIndex((l) => l.startsWith("ENTRYPOINT ")),
    );
  });

  it("has a health check and an entry point that are the deployment contract's commands, on files that exist", () => {
    const health = finalStage.find((l) => l.startsWith("HEALTHCHECK "));
    expect(health).toMatch(/--interval=\d+s/);
    expect(execForm(health, "CMD")).toEqual(agentProcess.healthCommand);
    expect(
      execForm(
        finalStage.find((l) => l.startsWith("ENTRYPOINT ")),
        "ENTRYPOINT",
      ),
    ).toEqual(agentProcess.entryCommand);
    for (const command of [agentProcess.healthCommand, agentProcess.entryCommand]) {
      expect(existsSync(join(repoRoot, command.at(-1) ?? ""))).toBe(true);
    }
  });

  it("copies sources that exist and the ignore file keeps tests out", () => {
    const copies = finalStage.filter((l) => l.startsWith("COPY ") && !l.includes("--from="));
    for (const c of copies) {
      const [, ...srcs] = c.split(/\s+/).slice(0, -1);
      for (const src of srcs) expect(existsSync(join(repoRoot, src)), src).toBe(true);
    }
    const ignore = readFileSync(join(repoRoot, `${agentProcess.dockerfile}.dockerignore`), "utf8");
    expect(ignore).toContain("**/*.test.ts");
    expect(ignore).toContain("**/testing/**");
  });

  it("ships code that imports production dependencies and Node built-ins only", () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const runtime = new Set(Object.keys(pkg.dependencies));
    const shipped = ["core", "adapters", "hotpath", "functions", "infra/docker"].flatMap((dir) =>
      sourceFiles(join(repoRoot, dir)).filter((f) => !f.endsWith(".test.ts") && !f.includes("/testing/")),
    );
    expect(shipped.length).toBeGreaterThan(10);
    const offenders: string[] = [];
    let packageImports = 0;
    for (const file of shipped) {
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+["']([^"'.][^"']*)["']/g)) {
        const spec = m[1] ?? "";
        if (spec.startsWith("node:")) continue;
        packageImports++;
        const name = spec.startsWith("@")
          ? spec.split("/").slice(0, 2).join("/")
          : (spec.split("/")[0] ?? spec);
        if (!runtime.has(name)) offenders.push(`${file.slice(repoRoot.length)} imports ${spec}`);
      }
    }
    expect(packageImports).toBeGreaterThan(20);
    expect(offenders).toEqual([]);
  });

  it("exposes every service port of the manifest and the trigger's", () => {
    const exposed = finalStage
      .filter((l) => l.startsWith("EXPOSE "))
      .flatMap((l) => l.slice(7).trim().split(/\s+/).map(Number));
    expect(exposed.sort()).toEqual([...serviceAgents.map((a) => a.port), agentProcess.triggerPort].sort());
  });
});

describe("the container entry's environment", () => {
  it("accepts every container role and names the valid ones otherwise", () => {
    for (const role of [...serviceAgents.map((a) => a.name), "trigger", "topology"]) {
      expect(EntryEnv.safeParse({ AGENT: role }).success, role).toBe(true);
    }
    const bad = EntryEnv.safeParse({ AGENT: "compliance" });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toContain("coordinator");
    expect(EntryEnv.safeParse({ AGENT: "trigger", BOT4_FUNCTIONS: "compliance,nope" }).success).toBe(false);
    expect(
      EntryEnv.parse({ AGENT: "trigger", BOT4_FUNCTIONS: "compliance, backtesting" }).BOT4_FUNCTIONS,
    ).toEqual(["compliance", "backtesting"]);
  });

  it("probes each role's own port (shifted by BOT4_PORT_OFFSET)", () => {
    for (const a of serviceAgents) {
      expect(healthUrl({ AGENT: a.name, BOT4_PORT_OFFSET: "5" })).toBe(
        `http://127.0.0.1:${a.port + 5}/health`,
      );
    }
    expect(healthUrl({ AGENT: "trigger" })).toBe(`http://127.0.0.1:${agentProcess.triggerPort}/health`);
    expect(healthUrl({ AGENT: "topology" })).toBeUndefined();
    expect(functionAgents.length + serviceAgents.length).toBe(manifest.length);
  });
});

/** Every .ts file under a directory. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" ? [] : sourceFiles(path);
    return e.name.endsWith(".ts") ? [path] : [];
  });
}

/** A port offset whose shifted ports are free right now (BOT4_PORT_OFFSET ≤ 50 000). */
async function freeOffset(base: number): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port > base && port - base <= 50_000) return port - base;
  }
}

describe("the container entry and health check, run as a container would run them (per-agent NATS users)", async () => {
  const passwords = issuePasswords((n) => randomBytes(n).toString("hex"));
  const nats = await privateNats({ configFile: join(repoRoot, NATS_CONFIG_PATH) });
  const urlOf = (user: string) => withCredentials(nats.url, user, passwords.get(user) ?? "");
  const children: ChildProcess[] = [];

  /** Starts the image's ENTRYPOINT command with a container's environment. */
  const container = (env: Record<string, string>) => {
    const [cmd, ...args] = agentProcess.entryCommand;
    const child = spawn(cmd ?? "node", args, {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        LOG_LEVEL: "warn",
        BOT4_HOST: "127.0.0.1",
        ...env,
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    children.push(child);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    return { child, exited, stderr: () => stderr };
  };
  /** Runs the image's HEALTHCHECK command; resolves to its exit code. */
  const healthcheck = (env: Record<string, string>) => {
    const [cmd, ...args] = agentProcess.healthCommand;
    const child = spawn(cmd ?? "node", args, {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: "ignore",
    });
    return new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  };

  const topology = container({ AGENT: "topology", NATS_URL: urlOf(ADMIN_USER) });
  const topologyExit = await topology.exited;
  const admin = await Bus.connect({
    url: urlOf(ADMIN_USER),
    name: "docker-admin",
    logger: quietLogger("admin"),
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    await admin.drain();
  });

  it("AGENT=topology creates the streams as the admin user and exits 0", async () => {
    expect(topologyExit, topology.stderr()).toBe(0);
    for (const s of Object.values(streams))
      expect((await admin.jsm.streams.info(s.name)).config.name).toBe(s.name);
  });

  it("AGENT=coordinator serves as the coordinator user, passes HEALTHCHECK, and exits 0 on SIGTERM", async () => {
    const offset = String(await freeOffset(3000));
    const env = { AGENT: "coordinator", NATS_URL: urlOf("coordinator"), BOT4_PORT_OFFSET: offset };
    const c = container(env);
    await eventually(() => probe(env), 20_000, `coordinator health (${c.stderr()})`);
    expect(await healthcheck(env)).toBe(0);
    c.child.kill("SIGTERM");
    expect(await c.exited, c.stderr()).toBe(0);
    expect(await probe(env)).toBe(false);
  });

  it("AGENT=trigger BOT4_FUNCTIONS=compliance, as the compliance user, writes AUDIT records for trading-control events", async () => {
    const offset = String(await freeOffset(agentProcess.triggerPort));
    const env = {
      AGENT: "trigger",
      BOT4_FUNCTIONS: "compliance",
      NATS_URL: urlOf("compliance"),
      BOT4_PORT_OFFSET: offset,
    };
    const t = container(env);
    await eventually(() => probe(env), 20_000, `trigger health (${t.stderr()})`);
    expect(await healthcheck(env)).toBe(0);
    const risk = await Bus.connect({ url: urlOf("risk"), name: "docker-risk", logger: quietLogger("risk") });
    await risk.publishEvent(
      makeEvent({
        type: tradeEventType.limits,
        source: "risk",
        subject: subjects.trade.control("limits"),
        data: { max_leverage: 2 },
      }),
    );
    await risk.drain();
    await eventually(
      async () => (await admin.jsm.streams.info(streams.AUDIT.name)).state.messages >= 1,
      15_000,
      `an AUDIT record (${t.stderr()})`,
    );
    const last = await admin.jsm.streams.getMessage(streams.AUDIT.name, {
      last_by_subj: subjects.audit.of("compliance", "control"),
    });
    expect(last?.subject).toBe(subjects.audit.of("compliance", "control"));
    t.child.kill("SIGTERM");
    expect(await t.exited, t.stderr()).toBe(0);
  });
});
