import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.ts";

describe("loadConfig", () => {
  it("applies the seed's defaults", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      MAX_POSITION_SIZE: 0.02,
      MAX_PORTFOLIO_RISK: 0.15,
      MAX_CORRELATION: 0.7,
      MAX_LEVERAGE: 3,
      MODEL_CACHE_SIZE: 100,
      MAX_INFERENCE_BATCH: 32,
      BINANCE_TESTNET: true,
      MAX_RECONNECT_ATTEMPTS: 5,
      ENVIRONMENT: "development",
      LOG_LEVEL: "info",
    });
    expect(c.NATS_URL).toBeUndefined();
    expect(c.BOT4_API_KEYS).toEqual([]);
  });

  it("parses overrides from strings", () => {
    const c = loadConfig({
      MAX_LEVERAGE: "5",
      BINANCE_TESTNET: "false",
      BOT4_API_KEYS: "a, b,,",
      NATS_URL: "nats://10.0.0.1:4222",
    });
    expect(c.MAX_LEVERAGE).toBe(5);
    expect(c.BINANCE_TESTNET).toBe(false);
    expect(c.BOT4_API_KEYS).toEqual(["a", "b"]);
    expect(c.NATS_URL).toBe("nats://10.0.0.1:4222");
  });

  it("refuses MAX_LEVERAGE=abc naming the variable and the rule", () => {
    let error: unknown;
    try {
      loadConfig({ MAX_LEVERAGE: "abc" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/MAX_LEVERAGE: .*number.*"abc"/);
    expect((error as ConfigError).issues.map((i) => i.variable)).toEqual(["MAX_LEVERAGE"]);
  });

  it("names every bad variable at once", () => {
    expect(() =>
      loadConfig({ MAX_POSITION_SIZE: "1.5", BINANCE_TESTNET: "maybe", LOG_LEVEL: "loud" }),
    ).toThrow(/MAX_POSITION_SIZE[\s\S]*BINANCE_TESTNET[\s\S]*LOG_LEVEL|LOG_LEVEL[\s\S]*MAX_POSITION_SIZE/);
  });
});
