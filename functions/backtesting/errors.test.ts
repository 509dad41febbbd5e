import { describe, expect, it } from "vitest";
import { functionRegistry, functionToolDeps } from "../../core/functions/tool-deps.ts";
import { RpcCode, type RpcFailure } from "../../core/protocol/jsonrpc.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { executeRpc, localDispatch } from "../../core/tools/execute.ts";
import { testConfig } from "../trigger/testing.ts";
import { definition } from "./function.ts";

/**
 * run_backtest's failures reach the caller with their cause: here the market-data host does not
 * resolve (MARKET_DATA_URL on the `.invalid` TLD, a real DNS failure), as with no network at all.
 */
const logger = quietLogger("backtesting-errors");
const config = testConfig({
  MARKET_DATA_URL: "http://no-such-host.invalid",
  BOT4_DATA_DIR: "/tmp/bot4-errors-test",
});
const registry = functionRegistry(
  definition,
  functionToolDeps(definition, {
    config,
    logger,
    bus: async () => {
      throw new Error("no bus in this test");
    },
  }),
);

const call = async (tool: string, args: unknown) =>
  (await executeRpc(
    { jsonrpc: "2.0", id: 1, method: "tool.execute", params: { agent: "backtesting", tool, args } },
    localDispatch([registry]),
    { transport: "local", logger },
  )) as RpcFailure;

describe("run_backtest errors name their cause", () => {
  it("exchange data without network: a network error naming ENOTFOUND, not -32603", async () => {
    const res = await call("run_backtest", {
      data: {
        source: "exchange",
        symbol: "BTC/USDT",
        timeframe: "1h",
        since: Date.UTC(2024, 0, 1),
        until: Date.UTC(2024, 0, 2),
      },
      strategy: { kind: "momentum" },
    });
    expect(res.error.code).toBe(RpcCode.Upstream);
    expect(res.error.message).toMatch(
      /BTC\/USDT 1h candles could not be fetched: network: unreachable.*ENOTFOUND/,
    );
    expect(res.error.data).toMatchObject({
      cause: "network",
      code: "network.unreachable",
      errno: "ENOTFOUND",
      exchange: "binance",
      symbol: "BTC/USDT",
    });
  });

  it("refused data and a missing model say so with their codes", async () => {
    const noModel = await call("run_backtest", {
      data: { source: "simulated", bars: 100 },
      strategy: { kind: "ml_signal" },
    });
    expect(noModel.error).toMatchObject({
      code: RpcCode.Rejected,
      data: { cause: "model", code: "model.missing" },
    });
    const bad = await call("run_backtest", {
      data: {
        source: "csv",
        format: "ohlcv",
        symbol: "BTC/USDT",
        timeframe: "1m",
        text: "timestamp,open,high,low,close,volume\n0,1,1,1,x,1\n60000,1,1,1,1,1",
      },
      strategy: { kind: "momentum" },
    });
    expect(bad.error).toMatchObject({
      code: RpcCode.Rejected,
      data: { cause: "data", code: "data.invalid" },
    });
    expect(bad.error.message).toMatch(/line 2: close is not a number/);
  });
});
