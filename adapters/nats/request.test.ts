import { errors as natsErrors, headers as natsHeaders } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { sharedNatsUrl, testBus } from "../../test/nats.ts";

/** Bus.request (MuxedRequests) against a real server: the answers nats.js's own request gives. */
describe("bus request/reply", async () => {
  const url = sharedNatsUrl();
  const server = await testBus(url);
  const client = await testBus(url);
  const subject = `test.request.${Math.random().toString(36).slice(2)}`;
  server.nc.subscribe(subject, {
    callback: (_err, msg) => {
      // Each answer names its request, after a delay that reverses the order of two quick calls.
      const text = msg.string();
      const echoed = `${text}|${msg.headers?.get("X-Test") ?? ""}`;
      setTimeout(() => msg.respond(echoed), text === "slow" ? 50 : 0);
    },
  });
  await server.nc.flush();

  it("answers each request with its own reply, whatever the order the replies arrive in", async () => {
    const h = natsHeaders();
    h.set("X-Test", "yes");
    const [slow, fast, withHeader] = await Promise.all([
      client.request(subject, "slow", 2_000),
      client.request(subject, "fast", 2_000),
      client.request(subject, new TextEncoder().encode("bytes"), 2_000, h),
    ]);
    expect(slow.string()).toBe("slow|");
    expect(fast.string()).toBe("fast|");
    expect(withHeader.string()).toBe("bytes|yes");
  });

  it("fails a subject nobody serves with the no-responders RequestError", async () => {
    const err = await client.request(`${subject}.nobody`, "x", 2_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(natsErrors.RequestError);
    expect((err as InstanceType<typeof natsErrors.RequestError>).isNoResponders()).toBe(true);
  });

  it("times out with a TimeoutError when the responder never answers", async () => {
    const silent = `${subject}.silent`;
    server.nc.subscribe(silent, { callback: () => undefined });
    await server.nc.flush();
    await expect(client.request(silent, "x", 100)).rejects.toBeInstanceOf(natsErrors.TimeoutError);
  });

  it("refuses an invalid subject as nats.js does", async () => {
    await expect(client.request("bad subject", "x", 1_000)).rejects.toBeInstanceOf(
      natsErrors.InvalidSubjectError,
    );
  });

  it("fails what is pending when the connection closes, and refuses requests after", async () => {
    const closing = await testBus(url);
    const silent = `${subject}.closing`;
    server.nc.subscribe(silent, { callback: () => undefined });
    await server.nc.flush();
    const pending = closing.request(silent, "x", 5_000).catch((e: unknown) => e);
    await closing.nc.flush();
    await closing.nc.close();
    const err = await pending;
    expect(err).toBeInstanceOf(natsErrors.RequestError);
    expect((err as Error).message).toMatch(/connection closed/);
    await expect(closing.request(subject, "x", 1_000)).rejects.toBeInstanceOf(
      natsErrors.ClosedConnectionError,
    );
  });
});
