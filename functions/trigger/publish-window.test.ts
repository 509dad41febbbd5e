import { describe, expect, it } from "vitest";
import { PublishWindow } from "./publish-window.ts";

/** A promise with its resolve and reject at hand. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } {
  let resolve = (): void => undefined;
  let reject = (_err: Error): void => undefined;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("publish window", () => {
  it("settles batches in the order they were added, whatever order their publishes finish in", async () => {
    const window = new PublishWindow(100);
    const settled: string[] = [];
    const a = deferred();
    const b = deferred();
    const c = deferred();
    await window.add(1, a.promise, async (err) => void settled.push(`a:${err === undefined}`));
    await window.add(1, b.promise, async (err) => void settled.push(`b:${err === undefined}`));
    await window.add(1, c.promise, async (err) => void settled.push(`c:${err === undefined}`));
    c.resolve();
    b.reject(new Error("publish failed"));
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).toEqual([]);
    a.resolve();
    await window.drain();
    expect(settled).toEqual(["a:true", "b:false", "c:true"]);
  });

  it("hands the failure to the batch's settle, and later batches still settle", async () => {
    const window = new PublishWindow(100);
    const errors: unknown[] = [];
    const failure = new Error("no stream for the subject");
    await window.add(2, Promise.reject(failure), async (err) => void errors.push(err));
    await window.add(0, Promise.resolve(), async () => {
      throw new Error("escaped");
    });
    await window.add(1, Promise.resolve(), async (err) => void errors.push(err ?? "ok"));
    await window.drain();
    expect(errors).toEqual([failure, "ok"]);
  });

  it("makes add wait while the window is full, until the oldest batch settles", async () => {
    const window = new PublishWindow(3);
    const first = deferred();
    const settled: number[] = [];
    await window.add(2, first.promise, async () => void settled.push(1));
    let admitted = false;
    const adding = window
      .add(2, Promise.resolve(), async () => void settled.push(2))
      .then(() => {
        admitted = true;
      });
    await new Promise((r) => setTimeout(r, 10));
    expect(admitted).toBe(false);
    first.resolve();
    await adding;
    expect(admitted).toBe(true);
    await window.drain();
    expect(settled).toEqual([1, 2]);
  });

  it("refuses a window smaller than one publish", () => {
    expect(() => new PublishWindow(0)).toThrow(/at least 1/);
  });
});
