/**
 * The latest price of each symbol the exchange has seen, per venue and on any venue (tickers, books,
 * the paper feed): what orders without a price are checked and valued at.
 */
export class PriceCache {
  private readonly prices = new Map<string, number>();

  /** Records a price; returns true when it changed. */
  set(venue: string, symbol: string, price: number): boolean {
    const key = `${venue}|${symbol}`;
    if (this.prices.get(key) === price) return false;
    this.prices.set(key, price);
    this.prices.set(`*|${symbol}`, price);
    return true;
  }

  /** The venue's latest price of a symbol, else the latest on any venue. */
  get(venue: string, symbol: string): number | undefined {
    return this.prices.get(`${venue}|${symbol}`) ?? this.prices.get(`*|${symbol}`);
  }

  /** The latest price of every symbol, any venue. */
  marks(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, price] of this.prices) if (key.startsWith("*|")) out[key.slice(2)] = price;
    return out;
  }
}
