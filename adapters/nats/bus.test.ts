import { describe, expect, it } from "vitest";
import { privateNats, testBus, eventually } from "../../test/nats.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { consumerName, streams, subjects } from "../../core/subjects.ts";
import { TopologyConflictError, ensureTopology } from "./topology.ts";

describe("topology", async () => {
  const nats = await privateNats();
  const bus = await testBus(nats.url);

  it("creates every stream, bucket and store once; a second run changes nothing", async () => {
    const first = await ensureTopology(bus);
    expect(first.created).toEqual(
      expect.arrayContaining(["MARKET", "EVENTS", "COMMANDS", "AUDIT", "DLQ", "KV_bot4_agents"]),
    );
    const before = await bus.jsm.streams.info("EVENTS");
    const second = await ensureTopology(bus);
    expect(second.created).toEqual([]);
    expect(second.unchanged.sort()).toEqual(first.created.sort());
    const after = await bus.jsm.streams.info("EVENTS");
    expect(after.created).toBe(before.created);
    expect(after.config).toEqual(before.config);
  });

  it("AUDIT denies delete and purge", async () => {
    const info = await bus.jsm.streams.info("AUDIT");
    expect(info.config.deny_delete).toBe(true);
    expect(info.config.deny_purge).toBe(true);
    const ack = await bus.publishEvent(
      makeEvent({
        type: "audit.recorded",
        source: "compliance",
        subject: subjects.audit.of("compliance", "decision"),
        data: {},
      }),
    );
    await expect(bus.jsm.streams.deleteMessage("AUDIT", ack.seq)).rejects.toThrow();
    await expect(bus.jsm.streams.purge("AUDIT")).rejects.toThrow();
    expect((await bus.jsm.streams.info("AUDIT")).state.messages).toBe(1);
  });

  it("refuses to overwrite a stream whose config conflicts, naming the fields", async () => {
    await bus.jsm.streams.update("DLQ", {
      ...streams.DLQ,
      subjects: [...streams.DLQ.subjects],
      max_age: 1_000_000_000 * 600,
    });
    const error = await ensureTopology(bus).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TopologyConflictError);
    expect((error as Error).message).toMatch(/stream DLQ .*max_age/);
    expect((await bus.jsm.streams.info("DLQ")).config.max_age).toBe(1_000_000_000 * 600);
  });
});

describe("events on JetStream", async () => {
  const nats = await privateNats();
  const bus = await testBus(nats.url);
  await ensureTopology(bus);

  it("stores one message when the same message id is published twice", async () => {
    const event = makeEvent({
      type: "order.accepted",
      source: "exchange",
      subject: subjects.trade.order("accepted"),
      data: { n: 1 },
    });
    const a = await bus.publishEvent(event);
    const b = await bus.publishEvent(event);
    expect(b.duplicate).toBe(true);
    expect(b.seq).toBe(a.seq);
    expect((await bus.jsm.streams.info("EVENTS")).state.messages).toBe(1);
  });
});

describe("durable consumers across a nats-server restart", async () => {
  const nats = await privateNats();
  const bus = await testBus(nats.url);
  await ensureTopology(bus);
  const durable = consumerName("compliance");

  it("resume where they stopped: nothing acked is redelivered, nothing is lost", async () => {
    await bus.ensureConsumer("EVENTS", durable, { filter_subject: subjects.trade.all });
    const publish = (n: number) =>
      bus.publishEvent(
        makeEvent({
          id: `fill-${n}`,
          type: "fill.executed",
          source: "exchange",
          subject: subjects.trade.fill,
          data: { n },
        }),
      );
    for (let n = 0; n < 5; n++) await publish(n);

    const seen: number[] = [];
    const consumer = await bus.consumer("EVENTS", durable);
    const take = async (count: number) => {
      const batch = await consumer.fetch({ max_messages: count, expires: 2_000 });
      for await (const m of batch) {
        seen.push((m.json() as { data: { n: number } }).data.n);
        m.ack();
      }
    };
    await take(3);
    expect(seen).toEqual([0, 1, 2]);
    // make sure the acks reached the server before it goes down
    await bus.nc.flush();

    await nats.restart();
    await eventually(() => bus.connected, 10_000, "reconnect");
    for (let n = 5; n < 7; n++) await publish(n);

    const resumed = await bus.consumer("EVENTS", durable);
    const rest = await resumed.fetch({ max_messages: 10, expires: 1_000 });
    for await (const m of rest) {
      seen.push((m.json() as { data: { n: number } }).data.n);
      m.ack();
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});
