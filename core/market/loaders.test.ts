import { describe, expect, it } from "vitest";
import type { Candle } from "../domain/market.ts";
import { fromCcxtOhlcv, parseBinanceKlinesCsv, parseOhlcvCsv } from "./loaders.ts";
import { inspectCandles, MarketDataError, validateCandles } from "./validate.ts";

const meta = { venue: "binance", symbol: "BTC/USDT", timeframe: "1m" as const };
const T0 = Date.UTC(2024, 2, 1);
const M = 60_000;

describe("loaders", () => {
  it("read ccxt OHLCV rows and name the bad row", () => {
    const candles = fromCcxtOhlcv(
      [
        [T0, 100, 101, 99, 100.5, 3],
        [T0 + M, 100.5, 102, 100, 101, 4],
      ],
      meta,
    );
    expect(candles[1]).toEqual({
      ...meta,
      ts: T0 + M,
      open: 100.5,
      high: 102,
      low: 100,
      close: 101,
      volume: 4,
    });
    expect(() =>
      fromCcxtOhlcv(
        [
          [T0, 100, 101, 99, 100, 1],
          [T0 + M, 100, null, 99, 100, 1],
        ],
        meta,
      ),
    ).toThrow(/row 1: field 2/);
    expect(() => fromCcxtOhlcv([[T0, 100, 99, 98, 100, 1]], meta)).toThrow(/row 0: impossible bar/);
  });

  it("read Binance kline CSV with or without header, in ms or µs", () => {
    const row = (ts: number) => `${ts},42000.1,42010,41990.5,42005,12.5,${ts + 59_999},525000,100,6,252000,0`;
    const plain = parseBinanceKlinesCsv(`${row(T0)}\n${row(T0 + M)}\n`, meta);
    const withHeader = parseBinanceKlinesCsv(
      `open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\r\n${row(T0 * 1000)}\r\n${row((T0 + M) * 1000)}`,
      meta,
    );
    expect(plain).toHaveLength(2);
    expect(withHeader).toEqual(plain);
    expect(plain[0]).toMatchObject({
      ts: T0,
      open: 42000.1,
      high: 42010,
      low: 41990.5,
      close: 42005,
      volume: 12.5,
    });
    expect(() => parseBinanceKlinesCsv(`${row(T0)}\n${T0 + M},1,2,x,1,1`, meta)).toThrow(
      /line 2: low is not a number/,
    );
  });

  it("read plain OHLCV CSV by header names, ISO or epoch times", () => {
    const iso = parseOhlcvCsv(
      "Date,Close,Open,High,Low,Volume,extra\n2024-03-01 00:00:00,10.5,10,11,9.5,7,x\n2024-03-01T00:01:00Z,10.7,10.5,10.8,10.4,8,y",
      meta,
    );
    expect(iso.map((c) => c.ts)).toEqual([T0, T0 + M]);
    expect(iso[0]).toMatchObject({ open: 10, high: 11, low: 9.5, close: 10.5, volume: 7 });
    const secs = parseOhlcvCsv(`timestamp,open,high,low,close,volume\n${T0 / 1000},10,11,9,10,1`, meta);
    expect(secs[0]?.ts).toBe(T0);
    expect(() => parseOhlcvCsv("time,open,high,low,close\n1,1,1,1,1", meta)).toThrow(
      /lacks column\(s\) volume/,
    );
  });
});

describe("validation", () => {
  const series = (offsets: number[]): Candle[] =>
    offsets.map((k) => ({ ...meta, ts: T0 + k * M, open: 10, high: 11, low: 9, close: 10, volume: 1 }));

  it("accepts a clean series", () => {
    expect(validateCandles(series([0, 1, 2, 3]), "1m")).toEqual({ bars: 4, issues: [], missingBars: 0 });
  });

  it("refuses duplicates and out-of-order bars with a message naming them", () => {
    expect(() => validateCandles(series([0, 1, 1, 2]), "1m")).toThrow(
      /bar 2 repeats 2024-03-01T00:01:00.000Z/,
    );
    try {
      validateCandles(series([0, 2, 1, 3]), "1m", { gaps: "report" });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(MarketDataError);
      expect((err as MarketDataError).issues.map((i) => i.kind)).toEqual(["out_of_order"]);
      expect((err as Error).message).toMatch(
        /bar 2 at 2024-03-01T00:01:00.000Z comes after 2024-03-01T00:02:00.000Z/,
      );
    }
  });

  it("refuses gaps by default policy 'refuse' and reports them under 'report'", () => {
    const gappy = series([0, 1, 4, 5, 9]);
    expect(() => validateCandles(gappy, "1m", { gaps: "refuse" })).toThrow(/2 1m bar\(s\) missing/);
    const report = validateCandles(gappy, "1m", { gaps: "report" });
    expect(report.missingBars).toBe(5);
    expect(report.issues.map((i) => [i.index, i.missingBars])).toEqual([
      [2, 2],
      [4, 3],
    ]);
  });

  it("refuses misaligned, impossible and mixed bars", () => {
    const bad = series([0, 1, 2]);
    bad[1] = { ...(bad[1] as Candle), ts: T0 + M + 5 };
    bad[2] = { ...(bad[2] as Candle), high: 8, symbol: "ETH/USDT" };
    const kinds = inspectCandles(bad, "1m").issues.map((i) => i.kind);
    expect(kinds).toEqual(["misaligned", "mixed_series", "invalid_bar"]);
    expect(() => validateCandles([], "1m")).toThrow(/at least 1 bar/);
  });
});
