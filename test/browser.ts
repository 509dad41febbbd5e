import { freePortOffset } from "./ports.ts";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { manifest } from "../core/agents/manifest.ts";
import { CREDENTIALS_FILE } from "../infra/local/credentials.ts";
import { ADMIN_USER, withCredentials } from "../infra/nats/permissions.ts";

/** Polls `check` until it is true (no vitest import: the bench uses these helpers too). */
async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Debian's Chromium (`apt-get install -y chromium`), found on the PATH as `command -v chromium` does. */
export function chromiumPath(): string {
  try {
    return execFileSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("Chromium is not installed: apt-get install -y chromium (.ci/run does it)");
  }
}

/** Flags that keep a headless Chromium off the network and quiet on a CI machine. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Where the browser tests save their screenshots (gitignored). */
export const SCREENSHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors seen so far. */
  errors: string[];
  screenshot(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh user-data dir; console errors and page errors are collected. */
export async function openBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), "bot4-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 1000 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    context,
    page,
    errors,
    screenshot: async (name) => {
      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
    },
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface RunningBot4 {
  /** The coordinator's base URL (the dashboard). */
  url: string;
  port(agent: string): number;
  output(): string;
  /** The launcher's nats-server URL with the operator's (admin) credentials from its 0600 file. */
  operatorNatsUrl(): string;
  rpc(
    agent: string,
    tool: string,
    args: unknown,
  ): Promise<{ result?: unknown; error?: { code: number; message: string } }>;
  stop(): Promise<void>;
}

/**
 * `npm start` on free ports: the launcher with its own nats-server (NATS_URL unset), a temp data dir
 * and a random port offset, as test/launcher.test.ts starts it. Resolves once "Bot4 is up" is printed.
 */
export async function startBot4(env: Record<string, string> = {}): Promise<RunningBot4> {
  const dataDir = mkdtempSync(join(tmpdir(), "bot4-ui-"));
  const offset = await freePortOffset();
  const port = (name: string) => (manifest.find((a) => a.name === name) as { port: number }).port + offset;
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    BOT4_DATA_DIR: dataDir,
    BOT4_PORT_OFFSET: String(offset),
    LOG_LEVEL: "info",
    LOG_FORMAT: "json",
    ...env,
  };
  delete childEnv.NATS_URL;
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "infra/local/start.ts"], {
    env: childEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  const url = `http://127.0.0.1:${port("coordinator")}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await until(
      () => output.includes("Bot4 is up") || child.exitCode !== null,
      90_000,
      "the system to start",
    );
    if (child.exitCode !== null) throw new Error(`the launcher exited with ${child.exitCode}`);
  } catch (err) {
    await stop();
    throw new Error(`${String(err)}\n--- launcher output ---\n${output.slice(-4000)}`);
  }
  const key = env.BOT4_API_KEYS?.split(",")[0];
  return {
    url,
    port,
    output: () => output,
    operatorNatsUrl: () => {
      const nats = /"url":"(nats:\/\/[^"]+)"/.exec(output)?.[1];
      if (nats === undefined) throw new Error("the launcher did not log its nats-server URL");
      const credentials = JSON.parse(readFileSync(join(dataDir, CREDENTIALS_FILE), "utf8")) as Record<
        string,
        string
      >;
      return withCredentials(nats, ADMIN_USER, credentials[ADMIN_USER] ?? "");
    },
    stop,
    rpc: async (agent, tool, args) => {
      const res = await fetch(`${url}/rpc`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(key ? { authorization: `Bearer ${key}` } : {}),
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "tool.execute",
          params: { agent, tool, args },
        }),
      });
      return (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
    },
  };
}

/** Top-level keys of a JSON object line, in order, duplicates kept (JSON.parse would drop them). */
export function topLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let i = 0;
  while (i < line.length) {
    const ch = line[i];
    if (ch === '"') {
      let j = i + 1;
      while (j < line.length && line[j] !== '"') j += line[j] === "\\" ? 2 : 1;
      const token = line.slice(i + 1, j);
      let k = j + 1;
      while (line[k] === " ") k++;
      if (depth === 1 && line[k] === ":") keys.push(token);
      i = j + 1;
      continue;
    }
    if (ch === "{" || ch === "[") depth++;
    else if (ch === "}" || ch === "]") depth--;
    i++;
  }
  return keys;
}
