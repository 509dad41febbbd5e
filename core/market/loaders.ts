import { z } from "zod";
import type { Candle, Timeframe } from "../domain/market.ts";
import { MarketDataError } from "./validate.ts";

/**
 * Loaders that turn raw market data into {@link Candle}s: ccxt OHLCV arrays, Binance kline CSV
 * (data.binance.vision) and plain OHLCV CSV. Pure: they take the text or the rows, never a path or a
 * socket. Every row is checked; a bad one throws a {@link MarketDataError} naming the row (1-based
 * line for CSV) and the problem. Order, duplicates and gaps are checked afterwards by
 * `validateCandles` (validate.ts), so loaders keep the input order.
 */
export interface SeriesMeta {
  venue: string;
  symbol: string;
  timeframe: Timeframe;
}

const positive = z.number().finite().positive();
/** ccxt's `[timestamp, open, high, low, close, volume]`. */
export const CcxtOhlcvRow = z.tuple([
  z.number().int().nonnegative(),
  positive,
  positive,
  positive,
  positive,
  z.number().finite().nonnegative(),
]);

function candle(meta: SeriesMeta, ts: number, o: number, h: number, l: number, c: number, v: number): Candle {
  return {
    venue: meta.venue,
    symbol: meta.symbol,
    timeframe: meta.timeframe,
    ts,
    open: o,
    high: h,
    low: l,
    close: c,
    volume: v,
  };
}

function checkBar(c: Candle, where: string): Candle {
  if (c.low > Math.min(c.open, c.close) || c.high < Math.max(c.open, c.close)) {
    throw new MarketDataError(
      `${where}: impossible bar (o=${c.open} h=${c.high} l=${c.low} c=${c.close}): low must be ≤ open, close ≤ high`,
    );
  }
  return c;
}

/** ccxt `fetchOHLCV` output (rows of `[ts, o, h, l, c, v]`). */
export function fromCcxtOhlcv(rows: unknown, meta: SeriesMeta): Candle[] {
  if (!Array.isArray(rows)) throw new MarketDataError("ccxt OHLCV must be an array of rows");
  return rows.map((row, i) => {
    const parsed = CcxtOhlcvRow.safeParse(row);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new MarketDataError(
        `ccxt OHLCV row ${i}: ${issue?.path.length ? `field ${issue.path.join(".")}: ` : ""}${issue?.message ?? "invalid"}`,
      );
    }
    const [ts, o, h, l, c, v] = parsed.data;
    return checkBar(candle(meta, ts, o, h, l, c, v), `ccxt OHLCV row ${i}`);
  });
}

function lines(text: string): { line: number; cells: string[] }[] {
  const out: { line: number; cells: string[] }[] = [];
  const raw = text.split(/\r?\n/);
  for (let i = 0; i < raw.length; i++) {
    const s = (raw[i] as string).trim();
    if (s.length === 0) continue;
    out.push({ line: i + 1, cells: s.split(",").map((x) => x.trim()) });
  }
  return out;
}

function num(cell: string | undefined, line: number, column: string): number {
  const v = cell === undefined || cell === "" ? Number.NaN : Number(cell);
  if (!Number.isFinite(v)) {
    throw new MarketDataError(`line ${line}: ${column} is not a number: ${JSON.stringify(cell ?? "")}`);
  }
  return v;
}

/** Binance switched spot kline files to microseconds in 2025; both units are accepted. */
function binanceTs(value: number): number {
  return value >= 1e14 ? Math.floor(value / 1000) : value;
}

/**
 * A Binance kline CSV (data.binance.vision): `open_time, open, high, low, close, volume, close_time,
 * quote_volume, count, taker_buy_volume, taker_buy_quote_volume, ignore`, with or without a header
 * row; open times in milliseconds or microseconds.
 */
export function parseBinanceKlinesCsv(text: string, meta: SeriesMeta): Candle[] {
  const rows = lines(text);
  const out: Candle[] = [];
  for (const [k, { line, cells }] of rows.entries()) {
    if (k === 0 && !/^\d/.test(cells[0] ?? "")) continue; // header
    if (cells.length < 6) {
      throw new MarketDataError(`line ${line}: a Binance kline has at least 6 columns, got ${cells.length}`);
    }
    const ts = num(cells[0], line, "open_time");
    if (!Number.isInteger(ts) || ts < 0)
      throw new MarketDataError(`line ${line}: open_time must be an integer`);
    const [o, h, l, c, v] = [
      num(cells[1], line, "open"),
      num(cells[2], line, "high"),
      num(cells[3], line, "low"),
      num(cells[4], line, "close"),
      num(cells[5], line, "volume"),
    ];
    if (o <= 0 || h <= 0 || l <= 0 || c <= 0 || v < 0) {
      throw new MarketDataError(`line ${line}: prices must be > 0 and volume ≥ 0`);
    }
    out.push(checkBar(candle(meta, binanceTs(ts), o, h, l, c, v), `line ${line}`));
  }
  return out;
}

const TIME_COLUMNS = ["timestamp", "time", "date", "datetime", "ts", "open_time"];

function parseTime(cell: string | undefined, line: number): number {
  if (cell === undefined || cell === "") throw new MarketDataError(`line ${line}: empty timestamp`);
  if (/^\d+$/.test(cell)) {
    const v = Number(cell);
    // Seconds (10 digits) are turned into milliseconds; milliseconds are kept.
    return v < 1e11 ? v * 1000 : v;
  }
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(cell) ? cell : `${cell.replace(" ", "T")}Z`);
  if (!Number.isFinite(ms))
    throw new MarketDataError(`line ${line}: unreadable timestamp ${JSON.stringify(cell)}`);
  return ms;
}

/**
 * A plain OHLCV CSV with a header naming the columns: a time column (`timestamp`, `time`, `date`,
 * `datetime`, `ts` or `open_time`; epoch seconds or ms, or ISO 8601, UTC unless an offset is given)
 * and `open`, `high`, `low`, `close`, `volume` (case-insensitive, any order, extra columns ignored).
 */
export function parseOhlcvCsv(text: string, meta: SeriesMeta): Candle[] {
  const rows = lines(text);
  const head = rows[0];
  if (head === undefined) return [];
  const names = head.cells.map((c) => c.toLowerCase());
  const col = (name: string) => names.indexOf(name);
  const timeCol = names.findIndex((n) => TIME_COLUMNS.includes(n));
  const missing = ["open", "high", "low", "close", "volume"].filter((n) => col(n) < 0);
  if (timeCol < 0) missing.unshift("timestamp");
  if (missing.length > 0) {
    throw new MarketDataError(`line ${head.line}: the header lacks column(s) ${missing.join(", ")}`);
  }
  const out: Candle[] = [];
  for (const { line, cells } of rows.slice(1)) {
    const ts = parseTime(cells[timeCol], line);
    const [o, h, l, c, v] = (["open", "high", "low", "close", "volume"] as const).map((n) =>
      num(cells[col(n)], line, n),
    ) as [number, number, number, number, number];
    if (o <= 0 || h <= 0 || l <= 0 || c <= 0 || v < 0) {
      throw new MarketDataError(`line ${line}: prices must be > 0 and volume ≥ 0`);
    }
    out.push(checkBar(candle(meta, ts, o, h, l, c, v), `line ${line}`));
  }
  return out;
}
