import { describe, expect, it } from "vitest";
import { logFormat } from "../../core/telemetry/log.ts";
import { bannerText, bannerUrls } from "./banner.ts";

const input = {
  environment: "development",
  trading: "paper trading only",
  nats: "nats://127.0.0.1:4222",
  services: [
    { agent: "coordinator", url: "http://127.0.0.1:3000" },
    { agent: "risk", url: "http://127.0.0.1:8081" },
  ],
  triggerUrl: "http://127.0.0.1:9100",
  notBuilt: ["architect", "quality"],
  keyed: false,
};

describe("the start-up banner", () => {
  it("lists the dashboard first, then MCP, the services, the trigger, NATS and what is not built", () => {
    const text = bannerText(input);
    const lines = text.split("\n").filter((l) => l.trim().length > 0);
    expect(lines[0]).toBe("Bot4 is up — paper trading only (development)");
    expect(lines[1]).toMatch(/^ {2}Dashboard +http:\/\/127\.0\.0\.1:3000\/$/);
    expect(lines[2]).toMatch(/^ {2}MCP +http:\/\/127\.0\.0\.1:3000\/mcp$/);
    expect(text).toMatch(/risk +http:\/\/127\.0\.0\.1:8081/);
    expect(text).toMatch(/not built yet +architect, quality/);
    expect(text).not.toContain("{");
    expect(bannerText({ ...input, keyed: true })).toContain("sign in with a key of BOT4_API_KEYS");
  });

  it("gives the same URLs as fields for JSON logs", () => {
    expect(bannerUrls(input)).toEqual({
      dashboard: "http://127.0.0.1:3000/",
      mcp: "http://127.0.0.1:3000/mcp",
      rpc: "http://127.0.0.1:3000/rpc",
      services: { coordinator: "http://127.0.0.1:3000", risk: "http://127.0.0.1:8081" },
      trigger: "http://127.0.0.1:9100",
      nats: "nats://127.0.0.1:4222",
    });
  });
});

describe("the log format", () => {
  it("is LOG_FORMAT when set, else pretty on a terminal and JSON elsewhere", () => {
    expect(logFormat({ LOG_FORMAT: "json" }, true)).toBe("json");
    expect(logFormat({ LOG_FORMAT: "pretty" }, false)).toBe("pretty");
    expect(logFormat({}, true)).toBe("pretty");
    expect(logFormat({}, false)).toBe("json");
  });
});
