/** Exponential backoff: `base` after the first delivery, doubled per further delivery, capped at `max`. */
export function backoffDelay(deliveryCount: number, base: number, max: number): number {
  const exponent = Math.max(0, deliveryCount - 1);
  return Math.min(max, base * 2 ** Math.min(exponent, 30));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
