import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import ccxt, { type Exchange, type OHLCV } from "ccxt";
import { z } from "zod";
import type { Candle, Timeframe } from "../../core/domain/market.ts";
import { timeframeMs } from "../../core/domain/market.ts";
import { fromCcxtOhlcv } from "../../core/market/loaders.ts";
import { MarketDataError } from "../../core/market/validate.ts";

/**
 * Historical candles through ccxt's `fetchOHLCV`, with a local file cache. The range is cut into
 * chunks of 1,000 bars aligned on the timeframe; a chunk that is entirely in the past is written to
 * `<cacheDir>/<exchange>/<symbol>/<timeframe>/<chunk start>.json` once fetched and read from there
 * afterwards, so a repeated backtest makes no request. The current (incomplete) chunk is never cached.
 * Rows are parsed by the shared loader; ordering, duplicates and gaps are judged by the caller's
 * validation, never patched here.
 */
export const CHUNK_BARS = 1_000;

export interface FetchRequest {
  symbol: string;
  timeframe: Timeframe;
  /** Inclusive, integer UTC ms (bar open times). */
  since: number;
  /** Exclusive. */
  until: number;
}

export interface CacheStats {
  chunks: number;
  cached: number;
  fetched: number;
  requests: number;
}

const CachedChunk = z.object({
  exchange: z.string(),
  symbol: z.string(),
  timeframe: z.string(),
  start: z.number().int(),
  rows: z.array(z.array(z.number())),
});

const pathToken = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, "-");

/** A ccxt exchange for public market data (no keys). `apiBase` points it elsewhere (tests). */
export function marketDataExchange(id: "binance", apiBase?: string): Exchange {
  const exchange = new ccxt.binance({
    enableRateLimit: true,
    timeout: 15_000,
    options: { fetchMarkets: { types: ["spot"] }, fetchCurrencies: false, fetchMargins: false },
  });
  if (apiBase !== undefined) {
    const api = exchange.urls.api as unknown as Record<string, unknown>;
    const root = apiBase.replace(/\/$/, "");
    for (const [key, value] of Object.entries(api)) {
      if (typeof value === "string") api[key] = `${root}${new URL(value).pathname}`;
    }
  }
  if (exchange.id !== id) throw new Error(`unsupported exchange ${id}`);
  return exchange;
}

async function readChunk(file: string): Promise<z.infer<typeof CachedChunk> | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return undefined;
  }
  const parsed = CachedChunk.safeParse(JSON.parse(text));
  // A cache file that fails its schema is ignored and refetched, never trusted.
  return parsed.success ? parsed.data : undefined;
}

/** Adds a page's rows inside [start, end) to `chunk`; the latest open time seen (at least `from`). */
function takePage(page: OHLCV[], start: number, end: number, chunk: number[][], from: number): number {
  let last = from;
  for (const row of page) {
    const ts = row[0];
    if (typeof ts !== "number") continue;
    if (ts >= start && ts < end) chunk.push(row.map((x) => Number(x)));
    if (ts > last) last = ts;
  }
  return last;
}

/** The rows of one chunk [start, end) from the exchange, page by page up to `now`. */
async function fetchChunk(
  exchange: Exchange,
  req: FetchRequest,
  span: { start: number; end: number; barMs: number; now: number },
  stats: CacheStats,
): Promise<number[][]> {
  const { start, end, barMs, now } = span;
  const chunk: number[][] = [];
  let cursor = start;
  while (cursor < end && cursor <= now) {
    stats.requests++;
    const page = await exchange.fetchOHLCV(req.symbol, req.timeframe, cursor, CHUNK_BARS);
    if (page.length === 0) break;
    const last = takePage(page, start, end, chunk, cursor);
    if (last < cursor) break;
    cursor = last + barMs;
    if (page.length < CHUNK_BARS && cursor <= now - barMs) break;
  }
  return chunk;
}

/** Writes a finished chunk to the cache through a temporary file and a rename (never half a file). */
async function writeChunk(dir: string, file: string, chunk: z.infer<typeof CachedChunk>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(chunk));
  await rename(tmp, file);
}

export async function fetchCandles(
  exchange: Exchange,
  req: FetchRequest,
  options: { cacheDir: string; now?: number },
): Promise<{ candles: Candle[]; stats: CacheStats }> {
  if (!(req.until > req.since)) throw new MarketDataError("until must be after since");
  const barMs = timeframeMs[req.timeframe];
  const chunkMs = CHUNK_BARS * barMs;
  const now = options.now ?? Date.now();
  const dir = join(options.cacheDir, pathToken(exchange.id), pathToken(req.symbol), req.timeframe);
  const stats: CacheStats = { chunks: 0, cached: 0, fetched: 0, requests: 0 };
  const rows: number[][] = [];
  for (let start = Math.floor(req.since / chunkMs) * chunkMs; start < req.until; start += chunkMs) {
    stats.chunks++;
    const end = start + chunkMs;
    const file = join(dir, `${start}.json`);
    const hit = await readChunk(file);
    if (hit !== undefined) {
      stats.cached++;
      rows.push(...hit.rows);
      continue;
    }
    const chunk = await fetchChunk(exchange, req, { start, end, barMs, now }, stats);
    stats.fetched++;
    rows.push(...chunk);
    if (end + barMs <= now) {
      await writeChunk(dir, file, {
        exchange: exchange.id,
        symbol: req.symbol,
        timeframe: req.timeframe,
        start,
        rows: chunk,
      });
    }
  }
  const inRange = rows.filter((r) => (r[0] as number) >= req.since && (r[0] as number) < req.until);
  const candles = fromCcxtOhlcv(inRange, {
    venue: exchange.id,
    symbol: req.symbol,
    timeframe: req.timeframe,
  });
  return { candles, stats };
}
