import { join } from "node:path";
import { loadCandles } from "../../core/backtest/backtest.ts";
import type { DataSpec } from "../../core/backtest/spec.ts";
import type { Config } from "../../core/config.ts";
import type { Candle } from "../../core/domain/market.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { ToolError } from "../../core/tools/errors.ts";
import { classifyFailure } from "../../core/tools/failures.ts";
import { type CacheStats, fetchCandles, marketDataExchange } from "./ohlcv.ts";

/**
 * Market data for anything that learns from or replays history — the backtester and model training
 * read the same sources through this one loader: the simulator, inline candles / ccxt rows, CSV text
 * (pure loaders of core/market) and exchange candles through ccxt with the local file cache.
 * A network or exchange failure becomes a ToolError naming its cause (`network.unreachable`, …) and
 * the series it was fetching; bad data stays a MarketDataError (data.invalid) for the caller to map.
 */
export type ExchangeData = Extract<DataSpec, { source: "exchange" }>;

export interface MarketDataAccess {
  /** Where the ccxt cache lives (`$BOT4_DATA_DIR/ohlcv-cache`). */
  cacheDir: string;
  /** Origin override of the market-data REST URLs (MARKET_DATA_URL). */
  apiBase?: string;
  /** Now, for the cache (chunks still forming are not cached). */
  now?: number;
}

export function marketDataAccess(
  config: Pick<Config, "BOT4_DATA_DIR" | "MARKET_DATA_URL">,
): MarketDataAccess {
  return {
    cacheDir: join(config.BOT4_DATA_DIR, "ohlcv-cache"),
    ...(config.MARKET_DATA_URL !== undefined ? { apiBase: config.MARKET_DATA_URL } : {}),
  };
}

/** Exchange candles through the ccxt cache; failures of the network or the exchange name their cause. */
export async function fetchExchangeCandles(
  data: ExchangeData,
  access: MarketDataAccess,
): Promise<{ candles: Candle[]; stats: CacheStats }> {
  const exchange = marketDataExchange(data.exchange, access.apiBase);
  try {
    return await fetchCandles(exchange, data, {
      cacheDir: access.cacheDir,
      ...(access.now !== undefined ? { now: access.now } : {}),
    });
  } catch (err) {
    const known = classifyFailure(err);
    if (known === undefined) throw err;
    throw new ToolError(
      RpcCode.Upstream,
      `${data.exchange} ${data.symbol} ${data.timeframe} candles could not be fetched: ${known.message}`,
      { ...known.data, exchange: data.exchange, symbol: data.symbol, timeframe: data.timeframe },
      { cause: err },
    );
  }
}

/** Candles of any data source; `exchange` needs `access` (I/O), the others are pure. */
export async function loadMarketData(data: DataSpec, access?: MarketDataAccess): Promise<Candle[]> {
  if (data.source !== "exchange") return loadCandles(data);
  if (access === undefined) {
    throw new ToolError(
      RpcCode.Rejected,
      "exchange data cannot be fetched here (no I/O): send candles instead",
      {
        cause: "data",
        code: "data.unavailable",
      },
    );
  }
  return (await fetchExchangeCandles(data, access)).candles;
}
