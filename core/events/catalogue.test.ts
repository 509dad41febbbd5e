import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Fill } from "../domain/trading.ts";
import { recordKind } from "../functions/outputs.ts";
import { streamOf, streams, subjects } from "../subjects.ts";
import {
  catalogue,
  consumersOf,
  envelopeOf,
  events,
  filterCovers,
  inputOf,
  messageId,
  newEvent,
} from "./catalogue.ts";
import { ARCHITECTURE_DOC, withTable } from "./table.ts";

describe("event catalogue", () => {
  it("docs/architecture.md carries the table generated from the catalogue", () => {
    const doc = readFileSync(ARCHITECTURE_DOC, "utf8");
    const current = withTable(doc);
    if (current !== doc) {
      expect.fail(
        "the event table in docs/architecture.md is out of date with core/events/catalogue.ts: run `npx tsx core/events/table.ts --update`",
      );
    }
  });

  it("names each type once, and each subject lies in its stream", () => {
    const types = catalogue.map((e) => e.type);
    expect(new Set(types).size).toBe(types.length);
    const streamsUsed = new Set<string>();
    for (const e of catalogue) {
      streamsUsed.add(e.stream);
      const inStream = streams[e.stream].subjects.some((root) => filterCovers(root, e.pattern));
      expect(inStream, `${e.type} on ${e.pattern} in ${e.stream}`).toBe(true);
      // No other stream stores it (a subject lies in exactly one).
      expect(streamOf(e.pattern)?.name, e.type).toBe(e.stream);
    }
    expect([...streamsUsed].sort()).toEqual(["AUDIT", "COMMANDS", "EVENTS", "MARKET"]);
  });

  it("puts a function's commands where it consumes them and its records where the trigger writes them", () => {
    for (const e of catalogue.filter((c) => c.stream === "COMMANDS")) {
      // cmd.<function>.<kind>: consumed by that function alone, queued by it or by clients through the coordinator.
      const fn = e.pattern.split(".")[1];
      expect(consumersOf(e), e.type).toEqual([fn]);
      expect([fn, "coordinator"], e.type).toContain(e.publisher);
    }
    expect(events.architect.requested.publisher).toBe("coordinator");
    for (const e of catalogue.filter((c) => c.stream === "AUDIT")) {
      expect(e.pattern, e.type).toBe(subjects.audit.of(e.publisher, recordKind(e)));
    }
    expect(consumersOf(events.architect.completed)).toEqual(["quality"]);
    expect(events.backtesting.requested.pattern).toBe(subjects.commands.of("backtesting", "run"));
    expect(events.infra.firing.pattern).toBe(events.infra.resolved.pattern);
  });

  it("derives consumers from the manifest", () => {
    expect(consumersOf(events.fill)).toEqual(expect.arrayContaining(["risk", "compliance", "ledger"]));
    expect(consumersOf(events.riskBreach)).toEqual([]);
    expect(filterCovers("market.*.candle.>", "market.*.candle.*")).toBe(true);
    expect(filterCovers("market.*.ticker.>", "market.*.candle.*")).toBe(false);
    expect(filterCovers("events.trade.>", "events.trade")).toBe(false);
  });

  it("builds one message-id style and subjects from the data", () => {
    expect(messageId("fill.executed", "t1")).toBe("fill.executed:t1");
    expect(() => messageId("fill.executed")).toThrow(/at least one part/);
    expect(() => messageId("fill.executed", "")).toThrow(/empty part/);
    const signal = newEvent(events.signal, {
      source: "inference",
      id: ["v1", "paper", "BTC-USDT", "1m", 0],
      data: {
        symbol: "BTC/USDT",
        venue: "paper",
        direction: "long",
        probability: 0.6,
        modelVersion: "v1",
        ts: 0,
      },
    });
    expect(signal).toMatchObject({
      type: "signal.generated",
      subject: "events.signal.BTC-USDT",
      id: "signal.generated:v1:paper:BTC-USDT:1m:0",
    });
    expect(envelopeOf(events.signal).safeParse(signal).success).toBe(true);
  });

  it("inputOf checks the data its type names and passes other types", () => {
    const Input = inputOf({ fill: [events.fill] });
    const fill: Fill = Fill.parse({
      id: "t1",
      orderId: "o1",
      clientOrderId: "c1",
      account: "default",
      venue: "paper",
      symbol: "BTC/USDT",
      side: "buy",
      amount: 1,
      price: 100,
      fee: { currency: "USDT", cost: 0.1 },
      liquidity: "taker",
      timestamp: 1,
    });
    const good = newEvent(events.fill, { source: "exchange", id: [fill.id], data: fill });
    expect(Input.parse(good)).toMatchObject({ kind: "fill", data: { id: "t1" } });
    const bad = Input.safeParse({ ...good, data: { ...fill, amount: -1 } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(["data", "amount"]);
    expect(Input.parse({ ...good, type: "position.changed", data: 1 })).toMatchObject({ kind: "other" });
  });
});
