/**
 * The clock port: where time comes from. Paper trading uses one clock for the venue (orders, fills,
 * positions) and its feed, so every timestamp of a paper run is on the same time base; tests and
 * replays pass their own.
 */
export interface Clock {
  /** Integer UTC milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
