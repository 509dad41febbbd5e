import { describe, expect, it } from "vitest";
import { privateNats, testBus } from "../../test/nats.ts";
import { objectStores } from "../../core/subjects.ts";
import { readObject } from "./objects.ts";
import { ensureTopology } from "./topology.ts";

/**
 * readObject against a real nats-server: a read whose chunks were purged under it (what a concurrent
 * overwrite does between the read of the object's info and of its chunks) is retried on the
 * object's new info instead of waiting forever, as nats.js's getBlob does.
 */
const server = await privateNats();
const bus = await testBus(server.url);
await ensureTopology(bus);
const store = await bus.objectStore(objectStores.results);
const encode = (s: string) => new TextEncoder().encode(s);
const decode = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

/** Leaves the object's info in place and drops its chunks: the state a read meets mid-overwrite. */
async function strand(name: string): Promise<void> {
  const info = await store.info(name);
  if (info === null) throw new Error(`no object ${name}`);
  await bus.jsm.streams.purge(`OBJ_${objectStores.results.bucket}`, {
    filter: `$O.${objectStores.results.bucket}.C.${info.nuid}`,
  });
}

describe("readObject", () => {
  it("reads what getBlob reads, and null for no object", async () => {
    const big = "x".repeat(300_000); // several 128 kB chunks
    await store.putBlob({ name: "objects-test/big" }, encode(big));
    expect(decode(await readObject(bus, objectStores.results, "objects-test/big"))).toBe(big);
    expect(await readObject(bus, objectStores.results, "objects-test/none")).toBeNull();
  });

  it("a read stranded by an overwrite is retried and returns the new version", async () => {
    await store.putBlob({ name: "objects-test/status" }, encode('{"v":1}'));
    await strand("objects-test/status");
    const stalls: number[] = [];
    const bytes = await readObject(bus, objectStores.results, "objects-test/status", {
      idleMs: 300,
      attempts: 3,
      onStall: async (attempt) => {
        stalls.push(attempt);
        await store.putBlob({ name: "objects-test/status" }, encode('{"v":2}'));
      },
    });
    expect(decode(bytes)).toBe('{"v":2}');
    expect(stalls).toEqual([1]);
  });

  it("so is a many-chunk read, whose stream stalls", async () => {
    await store.putBlob({ name: "objects-test/big-status" }, encode("a".repeat(300_000)));
    await strand("objects-test/big-status");
    const bytes = await readObject(bus, objectStores.results, "objects-test/big-status", {
      idleMs: 300,
      attempts: 3,
      onStall: () =>
        store.putBlob({ name: "objects-test/big-status" }, encode("b".repeat(300_000))).then(() => undefined),
    });
    expect(decode(bytes)).toBe("b".repeat(300_000));
  });

  it("an object whose chunks stay missing is an error naming it, not a hang", async () => {
    await store.putBlob({ name: "objects-test/lost" }, encode("lost"));
    await strand("objects-test/lost");
    await expect(
      readObject(bus, objectStores.results, "objects-test/lost", { idleMs: 200, attempts: 2 }),
    ).rejects.toThrow("object objects-test/lost could not be read: its chunks were gone on each of 2 reads");
  });
});
