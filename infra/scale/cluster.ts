import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findNatsServer, freePort, isListening, NatsServerMissingError } from "../nats-server/process.ts";

/** A local JetStream cluster: what docs/deploy.md's replicated-stream figures are measured on. */
export interface LocalCluster {
  /** Client URLs, one per server. */
  readonly urls: readonly string[];
  stop(): Promise<void>;
}

/**
 * Starts `size` nats-servers with JetStream on loopback, routed into one cluster (each with its own
 * store), and resolves once every one accepts clients. The JetStream meta leader is elected a moment
 * later: callers retry their first stream creation.
 */
export async function startLocalCluster(size = 3, name = "bot4"): Promise<LocalCluster> {
  const binary = findNatsServer();
  if (binary === undefined) throw new NatsServerMissingError();
  const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routes = await Promise.all(Array.from({ length: size }, () => freePort()));
  const stores = ports.map(() => mkdtempSync(join(tmpdir(), "bot4-cluster-")));
  const routeList = routes.map((p) => `nats://127.0.0.1:${p}`).join(",");
  const children: ChildProcess[] = ports.map((port, i) =>
    spawn(
      binary,
      [
        "-js",
        "-a",
        "127.0.0.1",
        "-p",
        String(port),
        "-sd",
        stores[i] ?? "",
        "-n",
        `${name}-${i}`,
        "--cluster_name",
        name,
        "--cluster",
        `nats://127.0.0.1:${routes[i]}`,
        "--routes",
        routeList,
      ],
      { stdio: "ignore" },
    ),
  );
  const deadline = Date.now() + 15_000;
  for (const port of ports) {
    while (!(await isListening(port))) {
      if (Date.now() > deadline) throw new Error(`cluster server on ${port} did not start`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return {
    urls: ports.map((p) => `nats://127.0.0.1:${p}`),
    async stop() {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolve) => {
              if (c.exitCode !== null) return resolve();
              c.once("exit", () => resolve());
              c.kill("SIGTERM");
            }),
        ),
      );
      for (const s of stores) rmSync(s, { recursive: true, force: true });
    },
  };
}
