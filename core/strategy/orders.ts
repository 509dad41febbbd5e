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
}

export function desiredPosition(target: number, equity: number, price: number, sizing: Sizing): number {
  if (!(price > 0) || !(equity > 0)) return 0;
  return (target * sizing.fraction * equity) / price;
}

export interface OrderIntent {
  readonly side: Side;
  readonly amount: number;
}

/** The market order that takes `position` to `desired`, or undefined when they (relatively) agree. */
export function orderToward(position: number, desired: number): OrderIntent | undefined {
  const delta = desired - position;
  const scale = Math.max(Math.abs(desired), Math.abs(position));
  if (scale === 0 || Math.abs(delta) <= scale * 1e-9) return undefined;
  return delta > 0 ? { side: "buy", amount: delta } : { side: "sell", amount: -delta };
}
