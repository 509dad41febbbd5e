/**
 * A discrete-event model of one function's trigger consumer feeding its Lambda, as the trigger
 * (functions/trigger/trigger.ts) works: every trigger replica pulls from the same durable consumer
 * into a buffer of `bufferBatches × batch` messages, runs one batch at a time (one Lambda invocation
 * in flight per replica), acks it when the invocation returns; the server delivers no more than
 * `maxAckPending` unacked messages across all replicas; Lambda runs at most `concurrency`
 * invocations at once and throttles the rest, which the invoker retries after a backoff.
 *
 * It answers the scale-out questions of docs/deploy.md: how many replicas a consumer's
 * max_ack_pending can feed, and how Lambda concurrency must relate to replicas × consumers.
 */
export interface TriggerModel {
  /** Trigger replicas pulling from the consumer. */
  readonly replicas: number;
  /** TRIGGER_BATCH_SIZE. */
  readonly batch: number;
  /** Buffered messages per replica, in batches (the trigger asks for 2 × batch). */
  readonly bufferBatches: number;
  /** The consumer's max_ack_pending (the trigger sets max(1024, 4 × batch)). */
  readonly maxAckPending: number;
  /** Lambda reserved concurrency for this function. */
  readonly concurrency: number;
  /** Invocation time in ms for a batch of n messages: fixed part + per message. */
  readonly lambdaFixedMs: number;
  readonly lambdaPerMessageMs: number;
  /** Delay before a throttled invocation is retried, ms. */
  readonly throttleRetryMs: number;
  /** Messages waiting in the stream at t = 0 (a backlog to drain). */
  readonly backlog: number;
}

export interface TriggerModelResult {
  /** Time to process the whole backlog, ms. */
  readonly drainMs: number;
  readonly messagesPerSecond: number;
  /** Most Lambda invocations running at once. */
  readonly peakConcurrency: number;
  readonly throttles: number;
  /** Most replicas that had a batch in hand at once. */
  readonly peakBusyReplicas: number;
}

interface Replica {
  buffered: number;
  busy: boolean;
}

export function simulateTrigger(m: TriggerModel): TriggerModelResult {
  const replicas: Replica[] = Array.from({ length: m.replicas }, () => ({ buffered: 0, busy: false }));
  let now = 0;
  let backlog = m.backlog;
  let unacked = 0;
  let running = 0;
  let done = 0;
  let throttles = 0;
  let peakConcurrency = 0;
  let peakBusy = 0;
  // Pending events: [time, replica index, kind, batch size]
  const events: { at: number; r: number; kind: "finish" | "retry"; size: number }[] = [];
  const pull = () => {
    for (const r of replicas) {
      const want = m.bufferBatches * m.batch - r.buffered;
      const give = Math.max(0, Math.min(want, backlog, m.maxAckPending - unacked));
      r.buffered += give;
      backlog -= give;
      unacked += give;
    }
  };
  const start = (i: number, size: number) => {
    if (running >= m.concurrency) {
      throttles++;
      events.push({ at: now + m.throttleRetryMs, r: i, kind: "retry", size });
      return;
    }
    running++;
    peakConcurrency = Math.max(peakConcurrency, running);
    events.push({ at: now + m.lambdaFixedMs + m.lambdaPerMessageMs * size, r: i, kind: "finish", size });
  };
  const dispatch = () => {
    for (const [i, r] of replicas.entries()) {
      if (r.busy || r.buffered === 0) continue;
      const size = Math.min(m.batch, r.buffered);
      r.buffered -= size;
      r.busy = true;
      start(i, size);
    }
    peakBusy = Math.max(peakBusy, replicas.filter((r) => r.busy).length);
  };
  pull();
  dispatch();
  while (done < m.backlog) {
    events.sort((a, b) => a.at - b.at);
    const e = events.shift();
    if (e === undefined) throw new Error("the model stalled: no event pending while messages remain");
    now = e.at;
    const replica = replicas[e.r];
    if (replica === undefined) throw new Error(`no replica ${e.r}`);
    if (e.kind === "retry") {
      start(e.r, e.size);
      continue;
    }
    running--;
    done += e.size;
    unacked -= e.size;
    replica.busy = false;
    pull();
    dispatch();
  }
  return {
    drainMs: now,
    messagesPerSecond: Math.round((m.backlog / now) * 1000),
    peakConcurrency,
    throttles,
    peakBusyReplicas: peakBusy,
  };
}

/** The trigger's defaults (core/config.ts, functions/trigger/trigger.ts) and a 20 ms + 0.05 ms/msg Lambda. */
export const baseModel: TriggerModel = {
  replicas: 1,
  batch: 256,
  bufferBatches: 2,
  maxAckPending: 1024,
  concurrency: 1000,
  lambdaFixedMs: 20,
  lambdaPerMessageMs: 0.05,
  throttleRetryMs: 100,
  backlog: 100_000,
};

/** The scenarios docs/deploy.md quotes: `npx tsx infra/scale/trigger-model.ts`. */
export function scenarios() {
  const rows: { scenario: string; model: TriggerModel }[] = [
    { scenario: "defaults, 1 replica", model: baseModel },
    { scenario: "defaults, 2 replicas", model: { ...baseModel, replicas: 2 } },
    { scenario: "defaults, 4 replicas (max_ack_pending 1024)", model: { ...baseModel, replicas: 4 } },
    {
      scenario: "4 replicas, max_ack_pending 3072",
      model: { ...baseModel, replicas: 4, maxAckPending: 3072 },
    },
    {
      scenario: "4 replicas, batch 64 (max_ack_pending 1024)",
      model: { ...baseModel, replicas: 4, batch: 64 },
    },
    {
      scenario: "4 replicas, max_ack_pending 3072, concurrency 2",
      model: { ...baseModel, replicas: 4, maxAckPending: 3072, concurrency: 2 },
    },
  ];
  return rows.map(({ scenario, model }) => {
    const r = simulateTrigger(model);
    return { scenario, ...r, drainMs: Math.round(r.drainMs) };
  });
}

if (process.argv[1]?.endsWith("trigger-model.ts")) {
  console.table(scenarios());
}
