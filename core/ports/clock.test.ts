import { describe, expect, it } from "vitest";
import { MarketClock } from "./clock.ts";

/** A wall clock the test moves by hand. */
const manual = (start: number) => {
  let t = start;
  return { clock: { now: () => t }, move: (ms: number) => (t += ms) };
};

describe("MarketClock: paper trading's one time base", () => {
  const minute = 60_000;

  it("reads the wall clock until the first bar, then the market's time at the bar's pace", () => {
    const wall = manual(200_000);
    const clock = new MarketClock(minute, 1_000, wall.clock);
    expect(clock.now()).toBe(200_000);
    clock.advance(5 * minute); // a bar closed at 5 min
    expect(clock.now()).toBe(5 * minute);
    wall.move(500); // half a tick of wall time = half a bar of market time
    expect(clock.now()).toBe(5 * minute + 30_000);
  });

  it("never reaches the next close between ticks, and never goes backwards", () => {
    const wall = manual(0);
    const clock = new MarketClock(minute, 1_000, wall.clock);
    clock.advance(10 * minute);
    wall.move(5_000); // the next tick is late: the clock waits just before the next close
    expect(clock.now()).toBe(11 * minute - 1);
    clock.advance(10 * minute); // a stale bar moves nothing
    expect(clock.now()).toBe(11 * minute - 1);
    clock.advance(11 * minute);
    expect(clock.now()).toBe(11 * minute);
  });
});
