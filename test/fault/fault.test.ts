import { freePortOffset } from "../ports.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PositionWire } from "../../core/domain/wire.ts";
import { BinanceEmulator } from "../../hotpath/exchange/emulator/binance.ts";
import { eventually, privateNats, testBus } from "../nats.ts";
import {
  kill9,
  ledgerBook,
  portOf,
  rpc,
  type StreamResult,
  type SystemProcess,
  startSystemProcess,
  streamOrders,
  type Tally,
  tally,
  tradeEvents,
  waitReady,
  waitStored,
} from "./harness.ts";

/**
 * The fault suite (issue 12, point 6), against the real system: `infra/local/start.ts` (what `npm
 * start` runs) in its own process on an external nats-server with a file store, so either can be
 * killed with SIGKILL. A client streams market orders over HTTP and resends refused or unanswered ones
 * with the same client order id. One system and one store run all four scenarios in sequence (each
 * scenario's orders have their own prefix), so every restart also recovers the previous scenarios:
 *   a. kill -9 the nats-server mid-stream, restart it on the same store;
 *   b. kill -9 the whole system mid-stream, restart it;
 *   c. both, twice in a row;
 *   d. the Binance emulator dropping order responses, failing them with a 5xx, losing the request,
 *      and answering too late (past ccxt's 10 s timeout; the venue refuses it by recvWindow).
 * Each prints acknowledged / persisted / lost / doubled and asserts lost = 0, doubled = 0, and that
 * the exchange's positions and paper cash equal the risk service's book field by field, and the
 * ledger's trades (net open amount and fees) equal the exchange's positions, the default strategy's
 * positions its open trades in the ledger.
 * Bounded: about 2.5 minutes on an idle 2-core machine; the generous timeouts only catch real hangs
 * on a loaded one (a system start can take a minute there).
 */
const N = 100;
const nats = await privateNats();
const bus = await testBus(nats.url, "fault-suite");
const dataDir = mkdtempSync(join(tmpdir(), "bot4-fault-"));
const offset = await freePortOffset();
const emulator = new BinanceEmulator();
const emulatorUrl = await emulator.start();
const exchangeUrl = `http://127.0.0.1:${portOf("exchange", offset)}`;
const riskUrl = `http://127.0.0.1:${portOf("risk", offset)}`;
const coordinatorUrl = `http://127.0.0.1:${portOf("coordinator", offset)}`;

const env: NodeJS.ProcessEnv = {
  ...process.env,
  NATS_URL: nats.url,
  BOT4_DATA_DIR: dataDir,
  BOT4_PORT_OFFSET: String(offset),
  LOG_LEVEL: "warn",
  // The IntegrationValidator would run every tool at each (re)start: not the load this suite measures.
  VALIDATE_ON_REGISTER: "false",
  PAPER_TICK_MS: "500",
  EXCHANGE_VENUES: "binance",
  EXCHANGE_POLL_MS: "500",
  BINANCE_TESTNET: "false",
  BINANCE_API_URL: emulatorUrl,
  BINANCE_API_KEY: emulator.apiKey,
  BINANCE_SECRET: emulator.secret,
};
let system: SystemProcess;
/** What a failing scenario prints: the system's output, then the nats-server's log. */
const systemAndNatsLog = () =>
  `${system.output().slice(-5_000)}\n--- nats-server log ---\n${nats.log().slice(-3_000)}`;
const figures: Record<string, Tally & { refusals: number }> = {};

beforeAll(async () => {
  system = await startSystemProcess(env, offset);
}, 200_000);
afterAll(async () => {
  if (system !== undefined) await kill9(system);
  await emulator.stop();
  rmSync(dataDir, { recursive: true, force: true });
  console.log(
    `fault suite figures:\n${Object.entries(figures)
      .map(
        ([s, f]) =>
          `  ${s}: acknowledged ${f.acknowledged}, persisted ${f.persisted}, lost ${f.lost}, doubled ${f.doubled} (refusals retried: ${f.refusals})`,
      )
      .join("\n")}`,
  );
});

const restartSystem = async () => {
  await kill9(system);
  system = await startSystemProcess(env, offset);
};
const restartNats = async (downMs = 1_000) => {
  await nats.kill();
  await new Promise((r) => setTimeout(r, downMs));
  await nats.restart();
};

async function check(scenario: string, prefix: string, run: StreamResult): Promise<void> {
  await waitReady(system, offset);
  await eventually(() => bus.connected, 10_000, "the test's bus");
  await waitStored(offset);
  const t = tally(await tradeEvents(bus), prefix, run.acknowledged);
  figures[scenario] = { ...t, refusals: run.refusals };
  console.log(
    `${scenario}: acknowledged ${t.acknowledged}, persisted ${t.persisted}, lost ${t.lost}, doubled ${t.doubled}`,
  );
  expect(t.acknowledged).toBe(run.sent);
  expect(t.lost).toBe(0);
  expect(t.doubled).toBe(0);
  await expectExchangeEqualsRisk();
  await expectLedgerAgrees();
}

const post = async (url: string, tool: string, body: unknown) =>
  (await (
    await fetch(`${url}/tools/${tool}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    })
  ).json()) as Record<string, unknown>;

/** Positions (every field) of both accounts, and the default account's cash against paper USDT. */
async function expectExchangeEqualsRisk(): Promise<void> {
  const near = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
  for (const account of ["default", "venue"]) {
    const ours = ((await post(exchangeUrl, "get_positions", { account })).positions as PositionWire[]).sort(
      (a, b) => `${a.venue}${a.symbol}`.localeCompare(`${b.venue}${b.symbol}`),
    );
    const usdt = (
      (await post(exchangeUrl, "get_balances", { venue: "paper" })).balances as Record<
        string,
        { total: number }
      >
    ).USDT?.total as number;
    // Risk follows EVENTS asynchronously: wait until it has caught up, then compare field by field.
    const book = await eventually(
      async () => {
        const b = (await post(riskUrl, "risk_metrics", { account })).book as
          | { cash: number; positions: PositionWire[] }
          | undefined;
        if (b === undefined) return undefined;
        const theirs = [...b.positions].sort((x, y) =>
          `${x.venue}${x.symbol}`.localeCompare(`${y.venue}${y.symbol}`),
        );
        const same =
          theirs.length === ours.length &&
          theirs.every((p, i) => {
            const q = ours[i] as PositionWire;
            return (
              p.venue === q.venue &&
              p.symbol === q.symbol &&
              near(p.amount, q.amount) &&
              near(p.average_price, q.average_price) &&
              near(p.realized_pnl, q.realized_pnl) &&
              near(p.fees ?? 0, q.fees ?? 0)
            );
          }) &&
          (account !== "default" || near(b.cash, usdt));
        return same ? b : undefined;
      },
      15_000,
      `risk's book of ${account} to equal the exchange's`,
    );
    expect(book.positions.length).toBe(ours.length);
  }
}

/**
 * The ledger (issue 14) against the exchange: per account, venue and symbol the open trades' net amount
 * equals the exchange's position and the fees of every trade equal the position's fees; and the default
 * paper strategy's positions equal the ledger's open trades of that strategy (kill -9 and restarts
 * included). The ledger follows EVENTS asynchronously: compared once it has caught up.
 */
async function expectLedgerAgrees(): Promise<void> {
  const near = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
  for (const account of ["default", "venue"]) {
    await eventually(
      async () => {
        const ours = (await post(exchangeUrl, "get_positions", { account })).positions as PositionWire[];
        const theirs = await ledgerBook(coordinatorUrl, account);
        const keys = new Set([...ours.map((p) => `${p.venue}|${p.symbol}`), ...Object.keys(theirs)]);
        return [...keys].every((k) => {
          const p = ours.find((q) => `${q.venue}|${q.symbol}` === k);
          const l = theirs[k] ?? { amount: 0, fees: 0 };
          return near(l.amount, p?.amount ?? 0) && near(l.fees, p?.fees ?? 0);
        });
      },
      30_000,
      `the ledger's trades of ${account} to equal the exchange's positions and fees`,
    );
  }
  await eventually(
    async () => {
      const s = (await rpc(coordinatorUrl, "strategy", "get_strategy", { id: "default-paper" })) as {
        positions: { symbol: string; amount: number }[];
        open_orders: unknown[];
      };
      if (s.open_orders.length > 0) return false;
      const trades = (
        (await rpc(coordinatorUrl, "ledger", "get_trades", {
          strategy: "default-paper",
          status: "open",
          limit: 1000,
        })) as { trades: { symbol: string; side: string; open_qty: number }[] }
      ).trades;
      const symbols = new Set([...s.positions.map((p) => p.symbol), ...trades.map((t) => t.symbol)]);
      return [...symbols].every((sym) => {
        const ledger = trades
          .filter((t) => t.symbol === sym)
          .reduce((a, t) => a + (t.side === "long" ? 1 : -1) * t.open_qty, 0);
        return near(ledger, s.positions.find((p) => p.symbol === sym)?.amount ?? 0);
      });
    },
    30_000,
    "the default strategy's positions to equal its open trades in the ledger",
  );
}

describe("fault suite: the real system under kill -9", () => {
  it("a. kill -9 of the nats-server mid-stream, restarted on the same store", async () => {
    const run = await streamOrders({
      url: () => exchangeUrl,
      output: systemAndNatsLog,
      prefix: "fa",
      n: N,
      faults: { [Math.floor(N / 3)]: () => restartNats() },
    });
    await check("a. nats-server kill -9", "fa", run);
  }, 300_000);

  it("b. kill -9 of the whole system mid-stream, restarted", async () => {
    const run = await streamOrders({
      url: () => exchangeUrl,
      output: systemAndNatsLog,
      prefix: "fb",
      n: N,
      faults: { [Math.floor(N / 3)]: () => restartSystem() },
    });
    await check("b. system kill -9", "fb", run);
  }, 300_000);

  it("c. both, twice in a row", async () => {
    const both = async () => {
      await Promise.all([kill9(system), nats.kill()]);
      await nats.restart();
      system = await startSystemProcess(env, offset);
    };
    const run = await streamOrders({
      url: () => exchangeUrl,
      output: systemAndNatsLog,
      prefix: "fc",
      n: N,
      faults: { [Math.floor(N / 4)]: both, [Math.floor(N / 2)]: both },
    });
    await check("c. both, twice", "fc", run);
  }, 400_000);

  it("d. the Binance emulator drops order responses, fails them and answers too late", async () => {
    const match = "POST /api/v3/order";
    const run = await streamOrders({
      url: () => exchangeUrl,
      output: systemAndNatsLog,
      prefix: "fd",
      n: 40,
      venue: "binance",
      account: "venue",
      faults: {
        5: async () => emulator.inject({ fault: { kind: "drop" }, times: 3, match }),
        15: async () => emulator.inject({ fault: { kind: "status", status: 502 }, times: 2, match }),
        22: async () => emulator.inject({ fault: { kind: "down" }, times: 2, match }),
        30: async () => emulator.inject({ fault: { kind: "latency", ms: 11_000 }, times: 1, match }),
      },
    });
    await check("d. binance emulator faults", "fd", run);
    // The venue itself never holds two orders for one client order id.
    const perClient = new Map<string, number>();
    for (const o of emulator.orders)
      perClient.set(o.clientOrderId, (perClient.get(o.clientOrderId) ?? 0) + 1);
    expect([...perClient.values()].filter((n) => n > 1)).toEqual([]);
    const applied = (kind: string) => emulator.requests.filter((r) => r.fault === kind).length;
    expect([applied("drop"), applied("status"), applied("down")]).toEqual([3, 2, 2]);
  }, 300_000);
});
