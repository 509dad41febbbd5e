import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTopology } from "../adapters/nats/topology.ts";
import { scenarioEvents } from "../core/ledger/testing.ts";
import { makeEvent } from "../core/protocol/envelope.ts";
import { subjects } from "../core/subjects.ts";
import { quietLogger } from "../core/telemetry/log.ts";
import { type Io, runCli } from "../hotpath/coordinator/cli.ts";
import { start as startCoordinator } from "../hotpath/coordinator/service.ts";
import type { RunningService } from "../hotpath/kit/types.ts";
import { eventually, privateNats, testBus } from "./nats.ts";
import { type LocalFunctions, startLocalFunctions } from "../functions/local.ts";
import { testConfig } from "../functions/trigger/testing.ts";

/**
 * The ledger as `npm start` runs it — loaded by functions/local.ts from functions/ledger/function.ts,
 * its embedded PGlite under BOT4_DATA_DIR — and the `bot4 trades`, `bot4 profit` and
 * `bot4 ledger rebuild` commands through a real coordinator.
 */
const dataDir = mkdtempSync(join(tmpdir(), "bot4-ledger-cli-"));
let functions: LocalFunctions;
let coordinator: RunningService;

function capture(): Io & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (t) => lines.push(t), err: (t) => errors.push(t) };
}

const cli = async (...argv: string[]) => {
  const io = capture();
  // The first call waits for PGlite to create its database: seconds, a minute on a loaded machine.
  const code = await runCli(argv, { BOT4_URL: coordinator.url, BOT4_CLI_TIMEOUT_MS: "150000" }, io);
  return { code, text: io.lines.join("\n"), errors: io.errors.join("\n") };
};

beforeAll(async () => {
  const nats = await privateNats();
  const bus = await testBus(nats.url);
  await ensureTopology(bus);
  const config = testConfig({ BOT4_DATA_DIR: dataDir, TRIGGER_MAX_WAIT_MS: "0" });
  functions = await startLocalFunctions(
    { config, bus, logger: quietLogger("functions") },
    { only: ["ledger"] },
  );
  coordinator = await startCoordinator({ config, bus, logger: quietLogger("coordinator") }, { port: 0 });
  for (const e of scenarioEvents()) {
    const subject =
      e.kind === "fill" ? subjects.trade.fill : e.kind === "order" ? subjects.trade.order(e.data.status) : "";
    await bus.publishEvent(
      makeEvent({
        id: e.id,
        type: e.type,
        source: "exchange",
        subject,
        data: e.kind === "other" ? {} : e.data,
      }),
    );
  }
  await eventually(
    async () => {
      const r = await cli("trades", "--json");
      return r.code === 0 && (JSON.parse(r.text) as { trades: unknown[] }).trades.length === 2;
    },
    160_000,
    "the ledger to project the scenario",
  );
}, 180_000);

afterAll(async () => {
  await coordinator?.stop();
  await functions?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("bot4 trades, bot4 profit and bot4 ledger rebuild", () => {
  it("runs the ledger from its module with its data under BOT4_DATA_DIR", () => {
    expect(functions.running).toEqual(["ledger"]);
  });

  it("prints the trades as a table, filtered", async () => {
    const r = await cli("trades", "--strategy", "s1");
    expect(r.code).toBe(0);
    const [header, ...rows] = r.text.split("\n");
    expect(header).toMatch(/^trade\s+status\s+side\s+symbol\s+strategy/);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(/^f1\s+closed\s+long\s+ETH\/USDT\s+s1\s/);
    expect(rows[0]).toMatch(/35\.9045$/); // realised after fees, 4 decimals
  });

  it("prints profit per strategy, per symbol and in total", async () => {
    const r = await cli("profit");
    expect(r.code).toBe(0);
    const total = r.text.split("\n").find((l) => l.startsWith("total"));
    // closed 2, open 0, win rate 50.0%, realised −71.99547, fees 16.99047
    expect(total?.split(/\s+/)).toEqual([
      "total",
      "2",
      "0",
      "50.0%",
      "-72.00",
      "0.00",
      "-72.00",
      "16.99",
      "0.33",
    ]);
    expect(r.text).toMatch(/^strategy s1\s/m);
    expect(r.text).toMatch(/^BTC\/USDT\s/m);
    const json = JSON.parse((await cli("profit", "--json")).text) as { total: { realized_pnl: number } };
    expect(json.total.realized_pnl).toBeCloseTo(-71.99547, 8);
  });

  it("refuses a bad filter with the field named", async () => {
    const r = await cli("trades", "--limit", "0");
    expect(r.code).toBe(1);
    expect(r.errors).toMatch(/limit/);
  });

  it("rebuilds the ledger from EVENTS with identical tables", async () => {
    const r = await cli("ledger", "rebuild");
    expect(r.code).toBe(0);
    expect(r.text).toMatch(/^replayed 18 events/);
    expect(r.text).toMatch(/^trades\s+2\s+[0-9a-f]{32}$/m);
    expect(r.text).toMatch(/tables identical to before the rebuild$/);
    expect((await cli("ledger")).code).toBe(2);
  });
});
