import type { Side } from "../domain/trading.ts";

/**
 * From a target exposure to an order: the one sizing rule the backtester and the live path share.
 *
 *   desired position (base units) = target × fraction × equity / price
 *
 * `fraction` is the share of equity a full (|target| = 1) position takes — 1 = fully invested,
 * 0.5 = half, a Kelly fraction from core/risk, or MAX_POSITION_SIZE live.
 */
export interface Sizing {
  readonly fraction: number;
  /**
   * The venue's lot step (base units). Orders are rounded down to a multiple of it, as a real venue
   * requires; the backtester rounds the same way so both paths send the same amounts.
   */
  readonly amountStep?: number;
}

export function desiredPosition(target: number, equity: number, price: number, sizing: Sizing): number {
  if (!(price > 0) || !(equity > 0)) return 0;
  return (target * sizing.fraction * equity) / price;
}

export interface OrderIntent {
  readonly side: Side;
  readonly amount: number;
}

/**
 * The market order that takes `position` to `desired`, or undefined when they (relatively) agree or
 * the gap is smaller than one lot `step`. With a step, the amount is rounded down to a multiple of it.
 */
export function orderToward(position: number, desired: number, step?: number): OrderIntent | undefined {
  const delta = desired - position;
  const scale = Math.max(Math.abs(desired), Math.abs(position));
  if (scale === 0 || Math.abs(delta) <= scale * 1e-9) return undefined;
  let amount = Math.abs(delta);
  if (step !== undefined && step > 0) {
    const decimals = Math.max(0, Math.ceil(-Math.log10(step)));
    amount = Number((Math.floor(amount / step + 1e-9) * step).toFixed(decimals));
    if (amount <= 0) return undefined;
  }
  return delta > 0 ? { side: "buy", amount } : { side: "sell", amount };
}
