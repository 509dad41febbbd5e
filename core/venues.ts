import type { Config } from "./config.ts";

/**
 * What trading on a venue means, decided from the configuration the same way the exchange service
 * decides it (hotpath/exchange/runtime.ts): `paper` is the simulated venue; a ccxt venue of
 * EXCHANGE_VENUES is `emulated` with an `<ID>_API_URL` override, `public_only` without keys (no
 * trading), `sandbox` for binance with BINANCE_TESTNET=true, and `live` (real money) otherwise.
 */
export type VenueMode = "paper" | "sandbox" | "emulated" | "public_only" | "live";

export interface VenueStatus {
  venue: string;
  mode: VenueMode;
  /** Orders here reach a real account with real money. */
  live: boolean;
}

export function venueModes(
  config: Config,
  env: Record<string, string | undefined> = process.env,
): VenueStatus[] {
  const out: VenueStatus[] = [{ venue: "paper", mode: "paper", live: false }];
  for (const id of config.EXCHANGE_VENUES) {
    if (id === "paper") continue;
    const upper = id.toUpperCase();
    const value = (suffix: string) => {
      const v = env[`${upper}_${suffix}`];
      return v === undefined || v === "" ? undefined : v;
    };
    const key = id === "binance" ? config.BINANCE_API_KEY : value("API_KEY");
    const secret = id === "binance" ? config.BINANCE_SECRET : value("SECRET");
    const apiUrl = id === "binance" ? config.BINANCE_API_URL : value("API_URL");
    const mode: VenueMode =
      apiUrl !== undefined
        ? "emulated"
        : key === undefined || secret === undefined
          ? "public_only"
          : id === "binance" && config.BINANCE_TESTNET
            ? "sandbox"
            : "live";
    out.push({ venue: id, mode, live: mode === "live" });
  }
  return out;
}

/** One line for the start banner: "paper trading only", or which venues trade and how. */
export function tradingSummary(venues: readonly VenueStatus[]): string {
  const trading = venues.filter((v) => v.mode !== "paper" && v.mode !== "public_only");
  if (trading.length === 0) return "paper trading only";
  const live = trading.filter((v) => v.live).map((v) => v.venue);
  const other = trading.filter((v) => !v.live).map((v) => `${v.venue} (${v.mode})`);
  const parts = [
    ...(live.length > 0 ? [`LIVE TRADING WITH REAL MONEY on ${live.join(", ")}`] : []),
    ...(other.length > 0 ? [`trading on ${other.join(", ")}`] : []),
    "paper",
  ];
  return parts.join("; ");
}
