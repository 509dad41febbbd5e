/**
 * The currencies the system values at par with the quote currency (USDT) — one list, read by every
 * valuation of balances (the exchange's account view among them).
 */
export const STABLECOINS: readonly string[] = ["USDT", "USDC", "USD", "BUSD", "FDUSD", "DAI", "TUSD"];
