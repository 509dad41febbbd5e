import { describe, expect, it } from "vitest";
import { z } from "zod";
import { eventually, privateNats, testBus } from "../../test/nats.ts";
import { EventEnvelope, makeEvent } from "../../core/protocol/envelope.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { ensureTopology } from "./topology.ts";
import { type Delivery, follow, subjectMatches } from "./follow.ts";

const Tick = EventEnvelope.extend({ data: z.object({ n: z.number().int() }) });
const logger = quietLogger("follow-test");

describe("follow", async () => {
  const nats = await privateNats();
  const bus = await testBus(nats.url);
  await ensureTopology(bus);
  const encoder = new TextEncoder();
  const publish = (subject: string, n: number) =>
    bus.publishEvent(makeEvent({ type: "test.tick", source: "test", subject, data: { n } }));

  it("replays what is stored, then follows live; caughtUp resolves after the replay", async () => {
    const subject = "events.test.live";
    for (let n = 1; n <= 3; n++) await publish(subject, n);
    const seen: number[] = [];
    const f = await follow(bus, "EVENTS", subject, Tick, (e) => void seen.push(e.data.n), { logger });
    await f.caughtUp;
    expect(seen).toEqual([1, 2, 3]);
    await publish(subject, 4);
    await eventually(() => seen.length === 4, 5_000, "the live message");
    expect(seen).toEqual([1, 2, 3, 4]);
    await f.stop();
    await f.done;
    expect(f.stats).toEqual({ handled: 4, rejected: 0, failed: 0 });
  });

  it("with pick, reads the stream unfiltered and hands over only the filter's subjects, replay and live", async () => {
    await publish("events.test.pick.a", 1);
    await publish("events.test.other", 100);
    await publish("events.test.pick.b", 2);
    await publish("events.test.pick.a.deeper", 101);
    const seen: number[] = [];
    const f = await follow(bus, "EVENTS", "events.test.pick.*", Tick, (e) => void seen.push(e.data.n), {
      logger,
      pick: true,
    });
    await f.caughtUp;
    expect(seen).toEqual([1, 2]);
    await publish("events.test.other", 102);
    await publish("events.test.pick.c", 3);
    await eventually(() => seen.length === 3, 5_000, "the live message");
    await f.stop();
    expect(seen).toEqual([1, 2, 3]);
    expect(f.stats).toEqual({ handled: 3, rejected: 0, failed: 0 });
  });

  it("matches subjects as NATS does", () => {
    const cases: [string, string, boolean][] = [
      ["events.trade.>", "events.trade.fill", true],
      ["events.trade.>", "events.trade.order.filled", true],
      ["events.trade.>", "events.trade", false],
      ["events.trade.>", "events.signal.BTC-USDT", false],
      ["events.*.fill", "events.trade.fill", true],
      ["events.*.fill", "events.trade.order.fill", false],
      ["events.trade.fill", "events.trade.fill", true],
      ["events.trade.fill", "events.trade.fills", false],
      ["events.trade.fill", "events.trade", false],
      [">", "anything.at.all", true],
    ];
    expect(cases.map(([f, s]) => subjectMatches(f, s))).toEqual(cases.map((c) => c[2]));
  });

  it("logs, counts and skips a message that fails the schema or is not JSON", async () => {
    const subject = "events.test.bad";
    await publish(subject, 1);
    await bus.js.publish(subject, encoder.encode(JSON.stringify({ not: "an envelope" })));
    await bus.js.publish(subject, encoder.encode("{oops"));
    await publish(subject, 2);
    const seen: number[] = [];
    const f = await follow(bus, "EVENTS", subject, Tick, (e) => void seen.push(e.data.n), {
      logger,
      toEnd: true,
    });
    await f.done;
    expect(seen).toEqual([1, 2]);
    expect(f.stats.rejected).toBe(2);
  });

  it("a bounded read (toEnd) ends at the last message stored when it began, from a sequence or a time", async () => {
    const subject = "events.test.bounded";
    const acks = [];
    for (let n = 1; n <= 5; n++) acks.push(await publish(subject, n));
    const fromSeq: number[] = [];
    const bySeq = await follow(bus, "EVENTS", subject, Tick, (e) => void fromSeq.push(e.data.n), {
      logger,
      toEnd: true,
      from: { seq: acks[2]?.seq ?? 0 },
    });
    await bySeq.done;
    expect(fromSeq).toEqual([3, 4, 5]);
    const empty = await follow(bus, "EVENTS", subject, Tick, () => undefined, {
      logger,
      toEnd: true,
      from: { time: Date.now() + 60_000 },
    });
    await empty.done;
    expect(empty.stats.handled).toBe(0);
    const none = await follow(bus, "EVENTS", "events.test.nothing", Tick, () => undefined, {
      logger,
      toEnd: true,
    });
    await none.done;
    expect(none.lastSeq).toBe(0);
  });

  it("a durable consumer acks after the handler: a failed message comes again, the position survives a restart", async () => {
    const subject = "events.test.durable";
    for (let n = 1; n <= 3; n++) await publish(subject, n);
    const seen: Array<[number, Delivery["deliveryCount"]]> = [];
    let failOnce = true;
    const handler = (e: z.infer<typeof Tick>, d: Delivery) => {
      if (e.data.n === 2 && failOnce) {
        failOnce = false;
        throw new Error("not yet");
      }
      seen.push([e.data.n, d.deliveryCount]);
    };
    await bus.ensureConsumer("EVENTS", "test_durable", { filter_subject: subject, ack_wait: 500_000_000 });
    const first = await follow(bus, "EVENTS", subject, Tick, handler, { logger, durable: "test_durable" });
    await eventually(() => seen.length === 3, 10_000, "the redelivery");
    expect(seen).toContainEqual([2, 2]);
    expect(first.stats.failed).toBe(1);
    await first.stop();
    await publish(subject, 4);
    const again: number[] = [];
    const second = await follow(bus, "EVENTS", subject, Tick, (e) => void again.push(e.data.n), {
      logger,
      durable: "test_durable",
    });
    await eventually(() => again.length === 1, 5_000, "the message published while stopped");
    expect(again).toEqual([4]);
    await second.stop();
  });

  it("an ordered follow survives a nats-server restart and resumes after the last message handled", async () => {
    const own = await privateNats();
    const b = await testBus(own.url);
    await ensureTopology(b);
    const subject = "events.test.outage";
    const pub = (n: number) =>
      b.publishEvent(makeEvent({ type: "test.tick", source: "test", subject, data: { n } }));
    await pub(1);
    const seen: number[] = [];
    const f = await follow(b, "EVENTS", subject, Tick, (e) => void seen.push(e.data.n), { logger });
    await f.caughtUp;
    await own.kill();
    await own.restart();
    await eventually(
      async () => {
        await pub(2);
        return seen.includes(2);
      },
      30_000,
      "a message published after the restart",
    );
    expect(seen[0]).toBe(1);
    expect(seen.filter((n) => n === 1)).toHaveLength(1);
    await f.stop();
  });
});
