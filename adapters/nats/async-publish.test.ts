import { JetStreamApiError } from "@nats-io/jetstream";
import { headers as natsHeaders, NoRespondersError, TimeoutError } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { privateNats, testBus } from "../../test/nats.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { subjects } from "../../core/subjects.ts";
import { AsyncPublisher } from "./async-publish.ts";
import { ensureTopology } from "./topology.ts";

const subject = subjects.events.of("quality", "pipelined");
const event = (n: number, id = `quality.pipelined:${n}`) =>
  makeEvent({ id, type: "quality.pipelined", source: "quality", subject, data: { n } });

describe("pipelined JetStream publishes", async () => {
  const nats = await privateNats();
  const bus = await testBus(nats.url);
  await ensureTopology(bus);

  it("stores a batch in order and answers each message's ack in its place", async () => {
    const before = (await bus.jsm.streams.info("EVENTS")).state.last_seq;
    const acks = await bus.publishEvents(Array.from({ length: 300 }, (_, i) => event(i)));
    expect(acks.map((a) => a.seq)).toEqual(Array.from({ length: 300 }, (_, i) => before + 1 + i));
    expect(acks.every((a) => a.stream === "EVENTS" && !a.duplicate)).toBe(true);
    const stored = await bus.jsm.streams.getMessage("EVENTS", { seq: before + 300 });
    expect(stored?.json<{ id: string; data: { n: number } }>()).toMatchObject({
      id: "quality.pipelined:299",
      data: { n: 299 },
    });
    expect(stored?.header.get("Nats-Msg-Id")).toBe("quality.pipelined:299");
    expect(stored?.header.get("Bot4-Event-Type")).toBe("quality.pipelined");
  });

  it("stores a republished batch once: every ack of the second run is a duplicate", async () => {
    const batch = Array.from({ length: 50 }, (_, i) => event(i, `quality.pipelined:again:${i}`));
    const first = await bus.publishEvents(batch);
    const second = await bus.publishEvents(batch);
    expect(second.map((a) => a.seq)).toEqual(first.map((a) => a.seq));
    expect(second.every((a) => a.duplicate)).toBe(true);
  });

  it("rejects a batch with a message no stream stores, and the next batch still goes through", async () => {
    const stray = makeEvent({ id: "x.y:1", type: "x.y", source: "quality", subject: "nowhere.x", data: {} });
    await expect(bus.publishEvents([event(1, "quality.pipelined:a"), stray])).rejects.toBeInstanceOf(
      NoRespondersError,
    );
    const [ack] = await bus.publishEvents([event(2, "quality.pipelined:b")]);
    expect(ack?.stream).toBe("EVENTS");
  });

  it("rejects with the stream's error reply", async () => {
    const publisher = new AsyncPublisher(bus.nc);
    const h = natsHeaders();
    h.set("Nats-Expected-Stream", "NOT_EVENTS");
    const err = await publisher
      .publishAll([{ subject, data: bus.encode(event(3)), headers: h }])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JetStreamApiError);
    expect((err as Error).message).toMatch(/stream/i);
    expect(publisher.inFlight).toBe(0);
  });

  it("resolves at once with no acks for an empty batch", async () => {
    await expect(bus.publishEvents([])).resolves.toEqual([]);
  });
});

describe("pipelined publishes nobody acks", async () => {
  const nats = await privateNats();
  const bus = await testBus(nats.url);

  it("rejects the batch with a timeout and forgets its messages", async () => {
    // A core subscriber that never answers: no stream stores the subject, yet it has a responder.
    const silent = "quality.silent";
    bus.nc.subscribe(silent, { callback: () => undefined });
    await bus.nc.flush();
    const publisher = new AsyncPublisher(bus.nc, 300);
    const pending = publisher.publishAll(
      [1, 2, 3].map((n) => ({ subject: silent, data: bus.encode(event(n)), headers: natsHeaders() })),
    );
    expect(publisher.inFlight).toBe(3);
    await expect(pending).rejects.toBeInstanceOf(TimeoutError);
    expect(publisher.inFlight).toBe(0);
  });
});
