import { describe, expect, it } from "vitest";
import { retryAfterMs, TokenBucket } from "./rate-limit.ts";

describe("token bucket", () => {
  it("serves a burst, then paces at the refill rate, cancels first", async () => {
    let now = 0;
    const bucket = new TokenBucket({ capacity: 2, refillPerSecond: 1000, now: () => now });
    await bucket.take();
    await bucket.take();
    const order: string[] = [];
    const normal = bucket.take("normal").then(() => order.push("normal"));
    const cancel = bucket.take("cancel").then(() => order.push("cancel"));
    expect(bucket.state().queued).toBe(2);
    now += 2; // two tokens' worth of time (1 ms each)
    await Promise.all([normal, cancel]);
    expect(order).toEqual(["cancel", "normal"]);
    bucket.close();
  });

  it("sends nothing while a 429's Retry-After runs, and reports a 418 ban", async () => {
    let now = 1_000;
    const bucket = new TokenBucket({ capacity: 10, refillPerSecond: 1_000_000, now: () => now });
    bucket.penalize(500, true);
    expect(bucket.state()).toMatchObject({ banned: true, blockedUntil: 1_500, throttledTotal: 1 });
    let sent = false;
    const waiting = bucket.take().then(() => {
      sent = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(sent).toBe(false);
    now = 1_500;
    await waiting;
    expect(sent).toBe(true);
    expect(bucket.state()).toMatchObject({ banned: false, blockedUntil: 0 });
    bucket.close();
  });

  it("parses Retry-After as seconds or an HTTP date", () => {
    expect(retryAfterMs("2", 100)).toBe(2_000);
    expect(retryAfterMs(undefined, 100)).toBe(100);
    expect(retryAfterMs("soon", 100)).toBe(100);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 100, 4_000)).toBe(6_000);
  });
});
