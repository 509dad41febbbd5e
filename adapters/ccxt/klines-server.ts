import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Candle } from "../../core/domain/market.ts";

/**
 * Test support: a tiny server speaking Binance's public REST dialect for what ccxt's fetchOHLCV needs —
 * `GET /api/v3/exchangeInfo` (markets) and `GET /api/v3/klines` (startTime, endTime, limit ≤ 1000, rows
 * of [openTime, "open", "high", "low", "close", "volume", closeTime, …] as strings) — serving `series`
 * (BTC/USDT, 1m) minus the open times in `missing`. Point ccxt at `base` (marketDataExchange or
 * MARKET_DATA_URL).
 */
export interface KlinesServer {
  base: string;
  /** Paths requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

const exchangeInfo = (serverTime: number) => ({
  timezone: "UTC",
  serverTime,
  rateLimits: [],
  exchangeFilters: [],
  symbols: [
    {
      symbol: "BTCUSDT",
      status: "TRADING",
      baseAsset: "BTC",
      baseAssetPrecision: 8,
      quoteAsset: "USDT",
      quotePrecision: 8,
      quoteAssetPrecision: 8,
      orderTypes: ["LIMIT", "MARKET"],
      isSpotTradingAllowed: true,
      isMarginTradingAllowed: false,
      filters: [
        { filterType: "PRICE_FILTER", minPrice: "0.01", maxPrice: "1000000", tickSize: "0.01" },
        { filterType: "LOT_SIZE", minQty: "0.00001", maxQty: "9000", stepSize: "0.00001" },
      ],
      permissions: [],
      permissionSets: [["SPOT"]],
    },
  ],
});

export async function startKlinesServer(
  series: readonly Candle[],
  options: { missing?: ReadonlySet<number> } = {},
): Promise<KlinesServer> {
  const requests: string[] = [];
  const missing = options.missing ?? new Set<number>();
  const barMs = series.length > 1 ? (series[1] as Candle).ts - (series[0] as Candle).ts : 60_000;
  const klines = (url: URL) => {
    const start = Number(url.searchParams.get("startTime") ?? 0);
    const end = Number(url.searchParams.get("endTime") ?? Number.MAX_SAFE_INTEGER);
    const limit = Math.min(1000, Number(url.searchParams.get("limit") ?? 500));
    return series
      .filter((c) => c.ts >= start && c.ts <= end && !missing.has(c.ts))
      .slice(0, limit)
      .map((c) => [
        c.ts,
        String(c.open),
        String(c.high),
        String(c.low),
        String(c.close),
        String(c.volume),
        c.ts + barMs - 1,
        "0",
        1,
        "0",
        "0",
        "0",
      ]);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    requests.push(url.pathname);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/api/v3/exchangeInfo") return send(200, exchangeInfo(series[0]?.ts ?? 0));
    if (url.pathname === "/api/v3/klines") return send(200, klines(url));
    send(404, { code: -1, msg: `no route ${url.pathname}` });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
