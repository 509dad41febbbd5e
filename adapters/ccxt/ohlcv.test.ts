import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkData } from "../../core/backtest/backtest.ts";
import type { Candle } from "../../core/domain/market.ts";
import { simulateCandles } from "../../core/market/simulator.ts";
import { MarketDataError } from "../../core/market/validate.ts";
import { CHUNK_BARS, fetchCandles, marketDataExchange } from "./ohlcv.ts";
import { startKlinesServer } from "./klines-server.ts";

const M = 60_000;
/** Aligned on the cache's 1,000-bar chunks, so chunk k holds bars 1000k … 1000k + 999 of the series. */
const T0 = Math.floor(Date.UTC(2024, 4, 1) / (1_000 * M)) * 1_000 * M;
const series: Candle[] = simulateCandles({ seed: 17, start: T0, venue: "binance" }, 3_500);
const missing = new Set<number>([T0 + 2_100 * M]); // the exchange has a hole here
const server = await startKlinesServer(series, { missing });
const { base, requests } = server;
const cacheDir = mkdtempSync(join(tmpdir(), "bot4-ohlcv-"));
afterAll(async () => {
  await server.close();
  rmSync(cacheDir, { recursive: true, force: true });
});

const klineRequests = () => requests.filter((p) => p === "/api/v3/klines").length;
const now = T0 + 4_000 * M;

describe("ccxt fetchOHLCV with a local cache", () => {
  it("fetches through ccxt, then serves the same range from the cache without a request", async () => {
    const exchange = marketDataExchange("binance", base);
    const req = { symbol: "BTC/USDT", timeframe: "1m" as const, since: T0 + 500 * M, until: T0 + 1_800 * M };
    const first = await fetchCandles(exchange, req, { cacheDir, now });
    expect(first.candles).toHaveLength(1_300);
    expect(first.candles[0]).toEqual(series[500]);
    expect(first.candles.at(-1)).toEqual(series[1_799]);
    expect(first.stats).toMatchObject({ chunks: 2, cached: 0, fetched: 2 });
    const before = klineRequests();
    expect(before).toBe(first.stats.requests);

    const again = await fetchCandles(marketDataExchange("binance", base), req, { cacheDir, now });
    expect(again.candles).toEqual(first.candles);
    expect(again.stats).toMatchObject({ chunks: 2, cached: 2, fetched: 0, requests: 0 });
    expect(klineRequests()).toBe(before);
  });

  it("fetches only the chunks it lacks, and never caches the chunk still forming", async () => {
    const exchange = marketDataExchange("binance", base);
    const req = { symbol: "BTC/USDT", timeframe: "1m" as const, since: T0, until: T0 + 3_500 * M };
    const nowInLastChunk = T0 + 3_600 * M;
    const out = await fetchCandles(exchange, req, { cacheDir, now: nowInLastChunk });
    expect(out.stats).toMatchObject({ chunks: 4, cached: 2, fetched: 2 });
    const again = await fetchCandles(exchange, req, { cacheDir, now: nowInLastChunk });
    expect(again.stats).toMatchObject({ cached: 3, fetched: 1 }); // chunk 3 (bars 3000–3999) is not complete yet
    expect(CHUNK_BARS).toBe(1_000);
    // The exchange's hole is passed on, and validation reports it rather than trading through silently.
    expect(out.candles).toHaveLength(3_499);
    expect(() => checkData(out.candles, { gaps: "refuse" })).toThrow(MarketDataError);
    expect(checkData(out.candles, { gaps: "report" }).missingBars).toBe(1);
  });
});
