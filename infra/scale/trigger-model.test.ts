import { describe, expect, it } from "vitest";
import { baseModel, simulateTrigger } from "./trigger-model.ts";

/** One batch of n messages takes fixed + per × n ms. */
const batchMs = (n: number) => baseModel.lambdaFixedMs + baseModel.lambdaPerMessageMs * n;

describe("the trigger → Lambda model", () => {
  it("matches the closed form for one replica: full batches back to back (exact, to the ms)", () => {
    const r = simulateTrigger(baseModel);
    const full = Math.floor(baseModel.backlog / baseModel.batch);
    const rest = baseModel.backlog - full * baseModel.batch;
    expect(r.drainMs).toBeCloseTo(full * batchMs(baseModel.batch) + (rest > 0 ? batchMs(rest) : 0), 6);
    expect(r.peakConcurrency).toBe(1);
    expect(r.throttles).toBe(0);
  });

  it("scales with replicas while max_ack_pending covers their buffers (within 1%)", () => {
    const single = simulateTrigger(baseModel).messagesPerSecond;
    const r = simulateTrigger({ ...baseModel, replicas: 4, maxAckPending: 4 * 3 * baseModel.batch });
    expect(r.peakBusyReplicas).toBe(4);
    expect(Math.abs(r.messagesPerSecond / (4 * single) - 1)).toBeLessThan(0.01);
  });

  it("caps busy replicas at max_ack_pending / (buffer × batch): the defaults feed two replicas, not four", () => {
    const single = simulateTrigger(baseModel).messagesPerSecond;
    const r = simulateTrigger({ ...baseModel, replicas: 4 });
    expect(r.peakBusyReplicas).toBe(baseModel.maxAckPending / (baseModel.bufferBatches * baseModel.batch));
    expect(Math.abs(r.messagesPerSecond / (2 * single) - 1)).toBeLessThan(0.01);
  });

  it("throttles when Lambda concurrency is below the busy replicas, and never runs more than it", () => {
    const r = simulateTrigger({ ...baseModel, replicas: 4, maxAckPending: 4096, concurrency: 2 });
    expect(r.peakConcurrency).toBe(2);
    expect(r.throttles).toBeGreaterThan(0);
    const unthrottled = simulateTrigger({ ...baseModel, replicas: 2, maxAckPending: 4096 });
    expect(r.messagesPerSecond).toBeLessThanOrEqual(unthrottled.messagesPerSecond);
  });
});
