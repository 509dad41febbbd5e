import { freePortOffset } from "../../test/ports.ts";
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findAgent } from "../../core/agents/manifest.ts";
import { agentProcess } from "../../core/agents/process.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { eventually, privateNats, testBus } from "../../test/nats.ts";
import { frame } from "./journal.ts";
import { storedEvents } from "./testing.ts";

/**
 * The journal's promise with real processes (issue 12.1): an exchange process (the container entry,
 * AGENT=exchange) acknowledges orders while JetStream stores nothing (the nats-server frozen), is
 * killed with SIGKILL, the nats-server is killed too (what it had buffered is gone), and a torn record
 * is left at the end of the journal. The next exchange start replays the journal before anything else:
 * every acknowledged order is in EVENTS exactly once, and a resubmission executes nothing.
 */
const nats = await privateNats();
const bus = await testBus(nats.url, "journal-crash");
await ensureTopology(bus);
const dataDir = mkdtempSync(join(tmpdir(), "bot4-journal-crash-"));
const offset = await freePortOffset();
const url = `http://127.0.0.1:${(findAgent("exchange") as { port: number }).port + offset}`;
const env: NodeJS.ProcessEnv = {
  ...process.env,
  [agentProcess.roleVariable]: "exchange",
  NATS_URL: nats.url,
  BOT4_DATA_DIR: dataDir,
  BOT4_PORT_OFFSET: String(offset),
  LOG_LEVEL: "warn",
  PAPER_TICK_MS: "200",
  PAPER_BALANCES: "USDT:100000",
};
let child: ChildProcess | undefined;
let output = "";

const startProcess = async () => {
  const proc = spawn(process.execPath, ["--import", "tsx", "infra/docker/entry.ts"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-10_000);
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  child = proc;
  await eventually(
    async () => {
      if (proc.exitCode !== null) throw new Error(`the exchange exited:\n${output}`);
      return (await fetch(`${url}/ready`)).status === 200;
    },
    90_000,
    "the exchange process ready",
  );
};
const kill9 = async () => {
  const proc = child;
  if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    proc.once("exit", () => resolve());
    proc.kill("SIGKILL");
  });
};

const submit = async (id: string) =>
  await fetch(`${url}/tools/submit_order`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      symbol: "BTC/USDT",
      side: "buy",
      type: "market",
      amount: 0.001,
      client_order_id: id,
    }),
  });

const byClient = async () => {
  const out = new Map<string, string[]>();
  for (const e of await storedEvents(bus)) {
    const id = (e.data as { clientOrderId?: string } | undefined)?.clientOrderId;
    if (id !== undefined) out.set(id, [...(out.get(id) ?? []), e.type]);
  }
  return out;
};

beforeAll(async () => {
  await startProcess();
}, 120_000);
afterAll(async () => {
  await kill9();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("exchange journal across kill -9", () => {
  it("replays acknowledged orders JetStream never stored, exactly once, past a torn record", async () => {
    expect((await submit("jc-0")).status).toBe(200);
    await eventually(
      async () => (await byClient()).get("jc-0")?.includes("order.filled"),
      10_000,
      "jc-0 stored",
    );

    nats.freeze();
    const ids = Array.from({ length: 10 }, (_, i) => `jc-${i + 1}`);
    const answers = await Promise.all(ids.map(submit));
    expect(answers.map((r) => r.status)).toEqual(ids.map(() => 200));
    await kill9();
    await nats.kill();
    await nats.restart();
    await eventually(() => bus.connected, 10_000, "the test's bus");
    const before = await byClient();
    expect(ids.filter((id) => before.has(id))).toEqual([]);

    // kill -9 in the middle of a write: the start of a record, no newline.
    const journals = join(dataDir, "exchange-journal");
    const [streamDir] = readdirSync(journals);
    const own = join(journals, streamDir as string, "0");
    const segments = readdirSync(own)
      .filter((f) => f.endsWith(".jnl"))
      .sort();
    appendFileSync(
      join(own, segments.at(-1) as string),
      frame({ j: 1e9, o: "exchange", t: "2026-01-01T00:00:00.000Z", c: "torn", g: [{ m: "torn" }] }).slice(
        0,
        60,
      ),
    );

    await startProcess();
    const after = await byClient();
    for (const id of ["jc-0", ...ids]) {
      const types = after.get(id) ?? [];
      expect({ id, fills: types.filter((t) => t === "fill.executed").length }).toEqual({ id, fills: 1 });
      expect(types.filter((t) => t === "order.filled")).toHaveLength(1);
    }
    const all = (await storedEvents(bus)).map((e) => e.id);
    expect(all.length).toBe(new Set(all).size);
    expect(output).toMatch(/torn record dropped/);

    // The recovered exchange knows the replayed orders: a resubmission returns the original order.
    const stored = (await storedEvents(bus)).find(
      (e) => e.type === "order.filled" && (e.data as { clientOrderId?: string }).clientOrderId === "jc-3",
    );
    const again = await submit("jc-3");
    expect(again.status).toBe(200);
    expect(((await again.json()) as { order: { id: string } }).order.id).toBe(
      (stored?.data as { id?: string } | undefined)?.id,
    );

    // A clean stop stores everything (and no second fill of jc-3), leaving no journal to replay.
    await new Promise<void>((resolve) => {
      child?.once("exit", () => resolve());
      child?.kill("SIGTERM");
    });
    expect((await byClient()).get("jc-3")?.filter((t) => t === "fill.executed")).toHaveLength(1);
    expect(existsSync(own)).toBe(false);
  }, 180_000);
});
