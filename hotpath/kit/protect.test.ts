import { createHash } from "node:crypto";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { quietLogger } from "../../core/telemetry/log.ts";
import { apiKeyAuth, bearerToken, bindHost, keyMatcher, protectionOf, rateLimit } from "./protect.ts";
import { testConfig } from "./testing/agent.ts";

describe("the token bucket", () => {
  /** A bucket of 2 tokens refilled at 1 per second, on a clock the test moves. */
  function limited() {
    let now = 0;
    const app = new Hono();
    app.use(rateLimit({ perSecond: 1, burst: 2 }, () => now));
    app.get("/", (c) => c.text("ok"));
    return {
      at: (ms: number) => {
        now = ms;
      },
      get: () => app.request("/"),
    };
  }

  it("lets a burst through, then refuses with the seconds until the next token", async () => {
    const b = limited();
    expect((await b.get()).status).toBe(200);
    expect((await b.get()).status).toBe(200);
    const refused = await b.get();
    expect(refused.status).toBe(429);
    // 0 tokens, 1 token/s: the next one is 1 s away.
    expect(refused.headers.get("retry-after")).toBe("1");
    b.at(500);
    expect((await b.get()).status).toBe(429);
    b.at(1_000);
    expect((await b.get()).status).toBe(200);
    expect((await b.get()).status).toBe(429);
  });

  it("never holds more than the burst, however long the client was idle", async () => {
    const b = limited();
    b.at(3_600_000);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await b.get()).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
  });
});

describe("API keys", () => {
  const app = new Hono();
  app.use(apiKeyAuth(["alpha", "beta-key"]));
  app.get("/", (c) => c.text(c.get("client")));

  it("accepts each configured key and tells clients apart by a fingerprint, not the key", async () => {
    const a = await app.request("/", { headers: { authorization: "Bearer alpha" } });
    const b = await app.request("/", { headers: { authorization: "bearer beta-key" } });
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    const [ca, cb] = [await a.text(), await b.text()];
    expect(ca).toMatch(/^key:[0-9a-f]{8}$/);
    expect(ca).not.toBe(cb);
    expect(ca).not.toContain("alpha");
  });

  it("refuses a missing, malformed, prefixed or wrong key with 401", async () => {
    for (const authorization of [
      undefined,
      "alpha",
      "Basic alpha",
      "Bearer alph",
      "Bearer alphaa",
      "Bearer ",
    ]) {
      const res = await app.request("/", authorization === undefined ? {} : { headers: { authorization } });
      expect(res.status, String(authorization)).toBe(401);
    }
  });
});

describe("the key matcher", () => {
  const long = "k".repeat(64); // exactly one 64-byte slot
  const longer = `${"x".repeat(100)}é`; // 102 bytes: a wider slot
  const match = keyMatcher(["alpha", long, longer, "ünï"]);
  const fingerprint = (k: string) =>
    `key:${createHash("sha256").update(k).digest().subarray(0, 4).toString("hex")}`;

  it("answers each key's fingerprint (the first 4 bytes of its SHA-256), however long the key", () => {
    for (const k of ["alpha", long, longer, "ünï"]) expect(match(k), k).toBe(fingerprint(k));
  });

  it("refuses prefixes, extensions, NUL padding, case changes and over-long tokens", () => {
    for (const token of [
      "",
      "alph",
      "alphaa",
      "alpha\0",
      "\0alpha",
      "ALPHA",
      long.slice(1),
      `${long}k`,
      `${long}\0`,
      longer.slice(0, -1),
      `${longer}x`,
      "uni",
      "ünï ",
      `alpha${"\0".repeat(200)}`,
      "k".repeat(10_000),
    ])
      expect(match(token), JSON.stringify(token.slice(0, 20))).toBeUndefined();
    // A refused long token leaves nothing behind for the next, shorter one.
    expect(match("alpha")).toBe(fingerprint("alpha"));
  });

  it("matches keys of every length around the packed words and the slot width", () => {
    // Odd and even lengths (two code units a word), and lengths either side of one 64-unit slot.
    const keys = [1, 2, 3, 62, 63, 64, 65, 127, 128, 129].map((n) => `${"q".repeat(n - 1)}${n % 10}`);
    const m = keyMatcher(keys);
    for (const k of keys) {
      expect(m(k), `${k.length}`).toBe(fingerprint(k));
      for (const other of [k.slice(0, -1), `${k}${k.at(-1)}`, `${k.slice(0, -1)}\0`, `${k}\0`])
        if (!keys.includes(other)) expect(m(other), `${k.length} vs ${other.length}`).toBeUndefined();
    }
  });

  it("compares code units: a lone surrogate is neither another one nor U+FFFD", () => {
    // UTF-8 encoding would turn all three into the bytes of U+FFFD, and so match.
    const m = keyMatcher(["a\uD800"]);
    expect(m("a\uD800")).toBe(fingerprint("a\uD800"));
    for (const token of ["a\uDC00", "a\uFFFD", "a"]) expect(m(token), JSON.stringify(token)).toBeUndefined();
  });

  it("matches nothing without keys, and reads the token of a Bearer header in any case", () => {
    expect(keyMatcher([])("alpha")).toBeUndefined();
    expect(bearerToken("  bEaReR   tok en ")).toBe("tok en");
    for (const h of [undefined, "", "Bearer", "Bearer ", "Basic tok", "Bearertok"])
      expect(bearerToken(h)).toBeUndefined();
  });
});

describe("binding", () => {
  const logger = quietLogger();
  it("keeps loopback hosts, and falls back to loopback for wider ones only without keys", () => {
    const open = protectionOf(testConfig());
    expect(bindHost("127.0.0.1", open, logger)).toBe("127.0.0.1");
    expect(bindHost("::1", open, logger)).toBe("::1");
    expect(bindHost("0.0.0.0", open, logger)).toBe("127.0.0.1");
    expect(bindHost("0.0.0.0", { ...open, allowInsecureBind: true }, logger)).toBe("0.0.0.0");
    expect(bindHost("0.0.0.0", protectionOf(testConfig({ BOT4_API_KEYS: "k" })), logger)).toBe("0.0.0.0");
  });

  it("derives its defaults from the config", () => {
    expect(protectionOf(testConfig({ BOT4_RATE_LIMIT: "0" })).rateLimit).toBe(false);
    expect(protectionOf(testConfig({ BOT4_RATE_LIMIT: "5", BOT4_RATE_BURST: "7" })).rateLimit).toEqual({
      perSecond: 5,
      burst: 7,
    });
    expect(protectionOf(testConfig()).bodyLimitBytes).toBe(1_048_576);
  });
});
