import { describe, expect, it } from "vitest";
import { RecentIds } from "./recent-ids.ts";

describe("RecentIds", () => {
  it("keeps the last `max` distinct ids, forgetting the oldest first", () => {
    const ids = new RecentIds(3);
    for (const id of ["a", "b", "c"]) ids.add(id);
    expect(["a", "b", "c"].map((id) => ids.has(id))).toEqual([true, true, true]);
    ids.add("d");
    expect(["a", "b", "c", "d"].map((id) => ids.has(id))).toEqual([false, true, true, true]);
    ids.add("e");
    ids.add("f");
    ids.add("g");
    expect(["c", "d", "e", "f", "g"].map((id) => ids.has(id))).toEqual([false, false, true, true, true]);
    expect(ids.size).toBe(3);
  });

  it("counts a repeated id once (it does not push a newer one out)", () => {
    const ids = new RecentIds(2);
    ids.add("a");
    ids.add("b");
    ids.add("b");
    ids.add("a");
    expect([ids.has("a"), ids.has("b"), ids.size]).toEqual([true, true, 2]);
    ids.add("c");
    expect([ids.has("a"), ids.has("b"), ids.has("c")]).toEqual([false, true, true]);
  });

  it("matches a first-in-first-out reference over a long run past its bound", () => {
    const max = 50;
    const ids = new RecentIds(max);
    const order: string[] = [];
    for (let i = 0; i < 1_000; i++) {
      const id = `id${(i * 7919) % 300}`;
      if (!order.includes(id)) {
        order.push(id);
        if (order.length > max) order.shift();
      }
      ids.add(id);
    }
    expect(ids.size).toBe(order.length);
    for (let i = 0; i < 300; i++) expect(ids.has(`id${i}`)).toBe(order.includes(`id${i}`));
  });
});
