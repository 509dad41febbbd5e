import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { functionAgents, manifest, serviceAgents } from "../../core/agents/manifest.ts";
import { Bus, splitCredentials } from "../../adapters/nats/bus.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { catalogue, events } from "../../core/events/catalogue.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { kvBuckets, streams, subjects } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { privateNats } from "../../test/nats.ts";
import { repoRoot, staleFiles } from "../generate.ts";
import {
  ADMIN_USER,
  agentPermissions,
  NATS_PASSWORD_PATTERN,
  issuePasswords,
  natsUsers,
  withCredentials,
  ownership,
} from "./permissions.ts";
import { NATS_CONFIG_PATH } from "./render.ts";

describe("nats-server users derived from the manifest", () => {
  it("has one user per manifest agent plus the admin, and the committed files are up to date", () => {
    expect(natsUsers().map((u) => u.user)).toEqual([ADMIN_USER, ...manifest.map((a) => a.name)]);
    expect(staleFiles()).toEqual([]);
  });

  it("gives order, fill and position events to the exchange alone and AUDIT to compliance alone", () => {
    const publishers = (subject: string) =>
      manifest.filter((a) => agentPermissions(a).publish.allow.includes(subject)).map((a) => a.name);
    expect(publishers(subjects.trade.order("accepted"))).toEqual(["exchange"]);
    expect(publishers(subjects.trade.fill)).toEqual(["exchange"]);
    expect(publishers(subjects.trade.position)).toEqual(["exchange"]);
    for (const e of catalogue.filter((c) => c.stream === "AUDIT")) {
      expect(publishers(e.pattern), e.type).toEqual(["compliance"]);
    }
    expect(publishers(subjects.audit.all)).toEqual([]);
    expect(publishers(events.backtesting.requested.pattern)).toEqual(["backtesting"]);
    expect(publishers(events.infra.tick.pattern)).toEqual(["infra"]);
    expect(publishers(events.signal.pattern)).toEqual(["inference"]);
    expect(publishers(subjects.trade.control("kill_switch"))).toEqual(["risk"]);
    expect(Object.keys(ownership).sort()).toEqual(manifest.map((a) => a.name).sort());
  });
});

/** Connects as one user of the generated configuration. */
async function connectAs(url: string, user: string, password: string): Promise<Bus> {
  const bus = await Bus.connect({
    url: withCredentials(url, user, password),
    name: `perm-${user}`,
    logger: quietLogger(user),
    maxReconnectAttempts: 0,
  });
  afterAll(() => bus.drain());
  return bus;
}

const event = (source: string, subject: string) =>
  makeEvent({ type: "test.permission", source, subject, data: { n: randomBytes(4).toString("hex") } });

/** Resolves to the error a subscription ends with (nats-server refuses it with a permissions violation). */
async function subscriptionError(bus: Bus, subject: string): Promise<string> {
  const sub = bus.nc.subscribe(subject);
  await bus.nc.flush().catch(() => undefined);
  const closed = await Promise.race([
    sub.closed.then((e) => (e instanceof Error ? e.message : "closed without error")),
    new Promise<string>((r) => setTimeout(() => r("still open"), 2_000)),
  ]);
  sub.unsubscribe();
  return closed;
}

describe("credentials in NATS_URL", () => {
  it("splits user and password out of the URL (percent-decoded) and keeps every server", () => {
    expect(splitCredentials("nats://risk:p%40ss@a:4222, nats://b:4222")).toEqual({
      servers: ["nats://a:4222", "nats://b:4222"],
      user: "risk",
      pass: "p@ss",
    });
    expect(splitCredentials("nats://a:4222")).toEqual({ servers: ["nats://a:4222"] });
  });
});

describe("the generated nats-server.conf, run for real (nats-server 2.9)", async () => {
  const passwords = issuePasswords((n) => randomBytes(n).toString("hex"));
  for (const pw of passwords.values()) expect(pw).toMatch(NATS_PASSWORD_PATTERN);
  const nats = await privateNats({ configFile: join(repoRoot, NATS_CONFIG_PATH) });
  const as = (user: string) => connectAs(nats.url, user, passwords.get(user) ?? "");
  const admin = await as(ADMIN_USER);
  await ensureTopology(admin);
  const exchange = await as("exchange");
  const risk = await as("risk");
  const compliance = await as("compliance");
  const coordinator = await as("coordinator");

  it("refuses a connection with a wrong password, and an anonymous one", async () => {
    await expect(connectAs(nats.url, "risk", "wrong")).rejects.toThrow(/authorization/i);
    await expect(
      Bus.connect({ url: nats.url, name: "anonymous", logger: quietLogger("anon"), maxReconnectAttempts: 0 }),
    ).rejects.toThrow(/authorization/i);
  });

  it("refuses the exchange's user deleting or purging any stream; the operator may", async () => {
    for (const s of [streams.EVENTS.name, streams.AUDIT.name]) {
      await expect(exchange.jsm.streams.delete(s)).rejects.toThrow(/permission/i);
      await expect(exchange.jsm.streams.purge(s)).rejects.toThrow(/permission/i);
    }
    await admin.jsm.streams.add({ name: "PERM_SCRATCH", subjects: ["perm.scratch.>"] });
    await expect(exchange.jsm.streams.delete("PERM_SCRATCH")).rejects.toThrow(/permission/i);
    expect(await admin.jsm.streams.delete("PERM_SCRATCH")).toBe(true);
  });

  it("refuses every agent deleting or purging AUDIT", async () => {
    for (const a of manifest) {
      const bus = await as(a.name);
      await expect(bus.jsm.streams.delete(streams.AUDIT.name), a.name).rejects.toThrow(/permission/i);
      await expect(bus.jsm.streams.purge(streams.AUDIT.name), a.name).rejects.toThrow(/permission/i);
    }
  });

  it("lets the exchange publish order events and refuses them from risk", async () => {
    const order = subjects.trade.order("accepted");
    const ack = await exchange.publishEvent(event("exchange", order));
    expect(ack.stream).toBe(streams.EVENTS.name);
    await expect(risk.publishEvent(event("risk", order))).rejects.toThrow(/permission/i);
    await expect(risk.publishEvent(event("risk", subjects.trade.fill))).rejects.toThrow(/permission/i);
    const info = await admin.jsm.streams.info(streams.EVENTS.name);
    expect(info.state.messages).toBe(1);
  });

  it("lets compliance write AUDIT and refuses AUDIT writes from the exchange and risk", async () => {
    const record = subjects.audit.of("compliance", "decision");
    expect((await compliance.publishEvent(event("compliance", record))).stream).toBe(streams.AUDIT.name);
    await expect(exchange.publishEvent(event("exchange", record))).rejects.toThrow(/permission/i);
    await expect(risk.publishEvent(event("risk", subjects.audit.of("risk", "limits")))).rejects.toThrow(
      /permission/i,
    );
    expect((await admin.jsm.streams.info(streams.AUDIT.name)).state.messages).toBe(1);
  });

  it("lets every agent publish its own events and nobody else's", async () => {
    expect((await risk.publishEvent(event("risk", subjects.events.of("risk", "breach")))).stream).toBe(
      "EVENTS",
    );
    await expect(
      exchange.publishEvent(event("exchange", subjects.events.of("risk", "breach"))),
    ).rejects.toThrow(/permission/i);
    expect((await risk.publishEvent(event("risk", subjects.trade.control("kill_switch")))).stream).toBe(
      "EVENTS",
    );
  });

  it("refuses storage-destroying JetStream API calls to agents, even on their own streams", async () => {
    await expect(risk.jsm.streams.delete(streams.AUDIT.name)).rejects.toThrow(/permission/i);
    await expect(compliance.jsm.streams.purge(streams.AUDIT.name)).rejects.toThrow(/permission/i);
    expect((await admin.jsm.streams.info(streams.AUDIT.name)).state.messages).toBe(1);
  });

  it("lets a function's user consume its input and ack it (durable consumer, pull, ack)", async () => {
    const durable = "perm_compliance";
    await compliance.ensureConsumer(streams.EVENTS.name, durable, { filter_subject: subjects.trade.all });
    const consumer = await compliance.consumer(streams.EVENTS.name, durable);
    const msg = await consumer.next({ expires: 2_000 });
    expect(msg?.subject).toBe(subjects.trade.order("accepted"));
    expect(await msg?.ackAck()).toBe(true);
  });

  it("scopes registry heartbeats to the agent's own keys", async () => {
    const kv = await risk.kv(kvBuckets.agents);
    await expect(kv.put("risk.instance1", "{}")).resolves.toBeGreaterThan(0);
    await expect(kv.put("exchange.instance1", "{}")).rejects.toThrow(/permission/i);
  });

  it("lets the coordinator call an agent's tools and refuses impersonating another agent's tool server", async () => {
    const served = risk.nc.subscribe(subjects.tools.of("risk"), {
      callback: (_err, msg) => {
        msg.respond("pong");
      },
    });
    await risk.nc.flush();
    const reply = await coordinator.request(subjects.tools.of("risk"), "ping", 2_000);
    expect(reply.string()).toBe("pong");
    await expect(exchange.request(subjects.tools.of("risk"), "ping", 2_000)).rejects.toThrow(/permission/i);
    expect(await subscriptionError(risk, subjects.tools.of("exchange"))).toMatch(/permission/i);
    served.unsubscribe();
  });

  it("derives a user for every service and function agent", () => {
    expect(serviceAgents.length + functionAgents.length).toBe(manifest.length);
    for (const a of manifest) expect(passwords.has(a.name)).toBe(true);
  });

  // Last: it stores a message per entry (the counts above are of the earlier tests).
  it("lets each publisher publish every fixed-subject catalogue entry it owns, into the entry's stream", async () => {
    const fixed = catalogue.filter((e) => !e.pattern.includes("*"));
    expect(fixed.map((e) => e.type)).toEqual(
      expect.arrayContaining(["backtest.requested", "infra.tick", "integration.report", "audit.decision"]),
    );
    for (const e of fixed) {
      const bus = await as(e.publisher);
      const ack = await bus.publishEvent(event(e.publisher, e.pattern)).catch((err: Error) => err.message);
      expect(typeof ack === "string" ? ack : ack.stream, `${e.publisher} publishing ${e.type}`).toBe(
        e.stream,
      );
    }
  });
});
