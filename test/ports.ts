import { createServer } from "node:net";
import { manifest } from "../core/agents/manifest.ts";
import { agentProcess } from "../core/agents/process.ts";

/** The ports a Bot4 system listens on before BOT4_PORT_OFFSET: every service's, and the trigger's. */
const basePorts = [...manifest.flatMap((a) => ("port" in a ? [a.port] : [])), agentProcess.triggerPort];

/**
 * Offsets keep every shifted port under Linux's ephemeral range (32768 and up), where the private
 * nats-servers and every outgoing connection take their ports: a random offset up to 40,000 could
 * land a service on one of them, and the process under test then died on EADDRINUSE.
 */
const LOWEST = 10_000;
const HIGHEST = 32_000 - Math.max(...basePorts);

const isFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });

/** A BOT4_PORT_OFFSET at which every port of a system is free now (random, so parallel files differ). */
export async function freePortOffset(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const offset = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST));
    const free = await Promise.all(basePorts.map((p) => isFree(p + offset)));
    if (free.every(Boolean)) return offset;
  }
  throw new Error("no port offset with every Bot4 port free in 50 tries");
}
