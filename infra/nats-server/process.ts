import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

export const NATS_INSTALL_HINT =
  "nats-server was not found on PATH. Install it (Debian/Ubuntu: `apt-get update && apt-get install -y nats-server`; " +
  "macOS: `brew install nats-server`; or see https://docs.nats.io/running-a-nats-service/introduction/installation), " +
  "or set NATS_URL to a running nats-server with JetStream enabled.";

export class NatsServerMissingError extends Error {
  override name = "NatsServerMissingError";
  constructor() {
    super(NATS_INSTALL_HINT);
  }
}

/** Finds the nats-server binary on PATH (and the Debian location, which is not on every PATH). */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [...(env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin", "/usr/local/bin"];
  for (const dir of dirs) {
    if (dir === "") continue;
    const candidate = join(dir, "nats-server");
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Servers this process started and has not stopped. They die with it: a test worker or a launcher
 * that exits without its cleanup hooks must not leave nats-servers behind.
 */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once("exit", () => live.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const c of live) c.kill("SIGKILL");
  });
}

/** A port the OS says is free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

/** True when something accepts TCP connections on host:port. */
export function isListening(port: number, host = "127.0.0.1", timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export interface NatsServerOptions {
  /** Default: a free port. */
  port?: number;
  host?: string;
  /** JetStream store directory. Default: a new temporary directory, removed by `stop({ clean: true })`. */
  storeDir?: string;
  /** A nats-server configuration file (accounts, users, permissions). */
  configFile?: string;
  /** Milliseconds to wait for the server to accept connections. */
  startTimeoutMs?: number;
  /** Extra environment of the server process (the users' passwords a configFile reads). */
  env?: NodeJS.ProcessEnv;
}

export interface NatsServerHandle {
  /** The server's recent log (its stderr, across restarts), for a failing test's message. */
  log(): string;
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** Graceful stop (SIGTERM); `clean` also removes a temporary store directory. */
  stop(options?: { clean?: boolean }): Promise<void>;
  /** Crash (SIGKILL): what a fault test wants. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and store, after a stop or kill. */
  restart(): Promise<void>;
  /**
   * Freezes the server (SIGSTOP): its connections stay open and nothing is answered or stored, what a
   * hung server looks like to a client. `thaw` continues it; a stop or kill of a frozen server works.
   */
  freeze(): void;
  thaw(): void;
  readonly running: boolean;
}

/**
 * Starts a private `nats-server -js` on its own port and store directory, and resolves once it
 * accepts connections. Fails with the install hint when nats-server is missing.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const binary = findNatsServer();
  if (binary === undefined) throw new NatsServerMissingError();
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? (await freePort());
  const ownStore = options.storeDir === undefined;
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), "bot4-nats-"));
  const timeout = options.startTimeoutMs ?? 10_000;
  let child: ChildProcess | undefined;
  let log = "";

  const launch = async () => {
    const args = ["-js", "-a", host, "-p", String(port), "-sd", storeDir];
    if (options.configFile !== undefined) args.push("-c", options.configFile);
    const proc = spawn(binary, args, {
      stdio: ["ignore", "ignore", "pipe"],
      ...(options.env === undefined ? {} : { env: { ...process.env, ...options.env } }),
    });
    let stderr = "";
    proc.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
      log = (log + chunk.toString()).slice(-20_000);
    });
    let exited: number | null | undefined;
    proc.once("exit", (code) => {
      exited = code;
    });
    child = proc;
    track(proc);
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      if (exited !== undefined)
        throw new Error(`nats-server exited with code ${exited} on start:\n${stderr}`);
      if (await isListening(port, host)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    proc.kill("SIGKILL");
    throw new Error(
      `nats-server did not accept connections on ${host}:${port} within ${timeout} ms:\n${stderr}`,
    );
  };

  const halt = async (signal: NodeJS.Signals) => {
    const proc = child;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once("exit", () => resolve());
      proc.kill(signal);
      // A frozen server acts on the signal once continued (SIGKILL needs no continue).
      proc.kill("SIGCONT");
    });
    child = undefined;
  };

  await launch();
  return {
    url: `nats://${host}:${port}`,
    port,
    storeDir,
    log: () => log,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async stop({ clean = true } = {}) {
      await halt("SIGTERM");
      if (clean && ownStore) rmSync(storeDir, { recursive: true, force: true });
    },
    kill: () => halt("SIGKILL"),
    freeze: () => child?.kill("SIGSTOP"),
    thaw: () => child?.kill("SIGCONT"),
    async restart() {
      await halt("SIGTERM");
      await launch();
    },
  };
}
