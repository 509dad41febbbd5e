import type { ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import type { Bus } from "../../adapters/nats/bus.ts";
import type { Config } from "../../core/config.ts";
import {
  type AnyFunctionDefinition,
  consumedSubjects,
  type InboundEvent,
  type LiveChannel,
  liveOutputId,
  outputId,
} from "../../core/functions/contract.ts";
import { messageId } from "../../core/events/catalogue.ts";
import { DEAD_LETTER_TYPE, type DeadLetter } from "../../core/functions/dead-letter.ts";
import {
  BATCH_KIND,
  type BatchPayload,
  type BatchResult,
  parseInbound,
  SchemaError,
} from "../../core/functions/run.ts";
import { StateConflictError } from "../../core/functions/state-store.ts";
import { EventEnvelope, makeEvent } from "../../core/protocol/envelope.ts";
import { consumerName, objectStores, streamOf, subjects } from "../../core/subjects.ts";
import { childWith, type Logger } from "../../core/telemetry/log.ts";
import { backoffDelay } from "./backoff.ts";
import { FunctionState } from "./function-state.ts";
import { FunctionFailedError, type Invoker } from "./invoker.ts";
import type { TriggerMetrics } from "./metrics.ts";

/** The phases after which a test may simulate a crash (see {@link TriggerOptions.probe}). */
export type CommitPhase = "published" | "state_saved";

export interface TriggerOptions {
  invoker: Invoker;
  metrics: TriggerMetrics;
  /** Default: the function's own batchSize, else config.TRIGGER_BATCH_SIZE. */
  batchSize?: number;
  /** Default: config.TRIGGER_MAX_WAIT_MS. */
  maxWaitMs?: number;
  /** Default: config.TRIGGER_MAX_DELIVERIES. */
  maxDeliveries?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  ackWaitMs?: number;
  /** Milliseconds stop() lets the batch in hand finish before naking it. Default 10 000. */
  shutdownDeadlineMs?: number;
  /**
   * Fault injection: called after a batch's outputs are published and after its state is saved. If
   * it throws, the batch is abandoned exactly as a crash would leave it: no ack, no nak.
   */
  probe?: (phase: CommitPhase, seqs: readonly number[]) => void | Promise<void>;
  /** Observer called right after a batch's acks are sent (the bench measures event-to-ack with it). */
  onAck?: (seqs: readonly number[]) => void;
}

export interface RunningTrigger {
  readonly function: string;
  /** The durable consumers, `<stream>/<name>`. */
  readonly consumers: readonly string[];
  /** Stops intake, finishes (or naks) the batch in hand, naks what is buffered. */
  stop(): Promise<void>;
}

interface Item {
  msg: JsMsg;
  seq: number;
  deliveryCount: number;
  envelope: EventEnvelope;
  /** The message as received (what a Lambda gets, to parse with the function's own schema). */
  raw: unknown;
  inbound: InboundEvent<unknown>;
}

class Abandoned extends Error {
  override name = "Abandoned";
}

const decoder = new TextDecoder();
const NS_PER_MS = 1_000_000;
/** Lifetime of one pull request (the client renews it); also bounds how fast a restart is noticed. */
export const PULL_EXPIRES_MS = 2_000;

/** Binds a function to its durable consumers, one per subject it consumes (from the manifest). */
export async function startTrigger(
  def: AnyFunctionDefinition,
  deps: { bus: Bus; config: Config; logger: Logger },
  options: TriggerOptions,
): Promise<RunningTrigger> {
  const state = await FunctionState.open(deps.bus, def);
  const loops: ConsumerLoop[] = [];
  const subjectsIn = consumedSubjects(def.name);
  try {
    for (const [index, subject] of subjectsIn.entries()) {
      const stream = streamOf(subject);
      if (stream === undefined) throw new Error(`${def.name} consumes ${subject}, which no stream stores`);
      const loop = new ConsumerLoop(
        def,
        deps,
        options,
        state,
        stream.name,
        consumerName(def.name, index),
        subject,
      );
      await loop.start();
      loops.push(loop);
    }
  } catch (err) {
    await Promise.all(loops.map((l) => l.stop()));
    throw err;
  }
  childWith(deps.logger, { function: def.name }).info(
    { invoker: options.invoker.kind, consumers: loops.map((l) => l.id) },
    "trigger started",
  );
  return {
    function: def.name,
    consumers: loops.map((l) => l.id),
    async stop() {
      await Promise.all(loops.map((l) => l.stop()));
      childWith(deps.logger, { function: def.name }).info("trigger stopped");
    },
  };
}

class ConsumerLoop {
  readonly id: string;
  private readonly logger: Logger;
  private readonly batchSize: number;
  private readonly maxWaitMs: number;
  private readonly maxDeliveries: number;
  private readonly backoffBase: number;
  private readonly backoffMax: number;
  private readonly ackWaitMs: number;
  private messages: ConsumerMessages | undefined;
  private readonly queue: JsMsg[] = [];
  private wakeUp: (() => void) | undefined;
  private waitingFor: "none" | "any" | "full" = "none";
  private stopping = false;
  private inHand: JsMsg[] = [];
  private loopDone: Promise<void> = Promise.resolve();
  private ackFloor = 0;
  private ackFloorAt = 0;

  constructor(
    private readonly def: AnyFunctionDefinition,
    private readonly deps: { bus: Bus; config: Config; logger: Logger },
    private readonly options: TriggerOptions,
    private readonly state: FunctionState,
    private readonly stream: string,
    private readonly durable: string,
    private readonly subject: string,
  ) {
    const c = deps.config;
    this.id = `${stream}/${durable}`;
    this.logger = childWith(deps.logger, { function: def.name, consumer: durable });
    this.batchSize = options.batchSize ?? def.batchSize ?? c.TRIGGER_BATCH_SIZE;
    this.maxWaitMs = options.maxWaitMs ?? c.TRIGGER_MAX_WAIT_MS;
    this.maxDeliveries = options.maxDeliveries ?? c.TRIGGER_MAX_DELIVERIES;
    this.backoffBase = options.backoffBaseMs ?? c.TRIGGER_BACKOFF_BASE_MS;
    this.backoffMax = options.backoffMaxMs ?? c.TRIGGER_BACKOFF_MAX_MS;
    this.ackWaitMs = options.ackWaitMs ?? c.TRIGGER_ACK_WAIT_MS;
  }

  async start(): Promise<void> {
    await this.deps.bus.ensureConsumer(this.stream, this.durable, {
      filter_subject: this.subject,
      ack_wait: this.ackWaitMs * NS_PER_MS,
      // The trigger dead-letters by itself at maxDeliveries; the server must never drop a message first.
      max_deliver: -1,
      // Room for the buffered batches and the one in hand.
      max_ack_pending: Math.max(1024, this.batchSize * 4),
    });
    const consumer = await this.deps.bus.consumer(this.stream, this.durable);
    this.messages = await consumer.consume({
      max_messages: Math.max(this.batchSize * 2, 64),
      expires: PULL_EXPIRES_MS,
      callback: (m) => {
        // While stopping, messages are still queued: they are handed back once the pull is closed.
        this.queue.push(m);
        if (
          this.waitingFor === "any" ||
          (this.waitingFor === "full" && this.queue.length >= this.batchSize)
        ) {
          this.wake();
        }
      },
    });
    this.loopDone = this.loop();
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    this.waitingFor = "none";
    w?.();
  }

  /** Waits for the first message (`any`) or for a full batch (`full`, bounded by maxWaitMs). */
  private wait(what: "any" | "full"): Promise<void> {
    return new Promise<void>((resolve) => {
      this.waitingFor = what;
      this.wakeUp = resolve;
      if (what === "full") setTimeout(() => this.wake(), this.maxWaitMs);
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      if (this.queue.length === 0) await this.wait("any");
      if (this.stopping) break;
      if (this.queue.length < this.batchSize && this.maxWaitMs > 0) {
        await this.wait("full");
        if (this.stopping) break;
      }
      if (this.queue.length === 0) continue;
      this.inHand = this.queue.splice(0, this.batchSize);
      try {
        await this.process(this.inHand);
      } catch (err) {
        this.logger.error({ err }, "batch failed unexpectedly; messages will be redelivered");
      }
      this.inHand = [];
    }
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.wake();
    try {
      // Bounded: with the server unreachable, closing must not hold up the shutdown.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.messages?.close(),
        new Promise<void>((r) => {
          timer = setTimeout(r, PULL_EXPIRES_MS);
        }),
      ]);
      clearTimeout(timer);
    } catch (err) {
      this.logger.warn({ err }, "closing the consumer failed");
    }
    const deadline = this.options.shutdownDeadlineMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      this.loopDone.then(() => true),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), deadline);
      }),
    ]);
    clearTimeout(timer);
    if (!finished) {
      this.logger.warn(
        { messages: this.inHand.length },
        "batch in hand did not finish before the deadline; naking it",
      );
      for (const m of this.inHand) m.nak();
    }
    // Handed back with a delay longer than the pull request's expiry, so the server redelivers them
    // to a live subscriber rather than to the pull this instance just abandoned.
    for (const m of this.queue.splice(0)) m.nak(PULL_EXPIRES_MS + 250);
  }

  private count(outcome: string, n = 1): void {
    if (n > 0)
      this.options.metrics.messages.inc({ function: this.def.name, consumer: this.durable, outcome }, n);
  }

  private async process(batch: readonly JsMsg[]): Promise<void> {
    const endTimer = this.options.metrics.batchSeconds.startTimer({ function: this.def.name });
    this.options.metrics.batchSize.observe({ function: this.def.name }, batch.length);
    const items: Item[] = [];
    if (this.state.stateful) {
      try {
        await this.state.current();
      } catch (err) {
        this.logger.warn({ err }, "loading the function state failed; naking the batch");
        for (const m of batch) m.nak(this.backoffBase);
        this.count("requeued", batch.length);
        endTimer();
        return;
      }
    }
    const inBatch = new Set<number>();
    for (const msg of batch) {
      const seq = msg.info.streamSequence;
      // A redelivery can overtake the copy already queued: one stream sequence is processed once
      // per batch (its ack settles both deliveries).
      if (inBatch.has(seq)) continue;
      inBatch.add(seq);
      if (this.state.isApplied(this.durable, seq)) {
        msg.ack();
        this.count("duplicate_skipped");
        continue;
      }
      let item: Item;
      try {
        const raw = parseJson(seq, msg.data);
        const parsedEnvelope = EventEnvelope.safeParse(raw);
        if (!parsedEnvelope.success) {
          throw new SchemaError(
            seq,
            parsedEnvelope.error.issues.map((i) => ({
              path: i.path.map(String).join("."),
              message: i.message,
            })),
          );
        }
        const envelope = parsedEnvelope.data;
        const inbound = parseInbound(this.def, this.stream, {
          seq,
          subject: msg.subject,
          deliveryCount: msg.info.deliveryCount,
          event: raw,
        });
        item = { msg, seq, deliveryCount: msg.info.deliveryCount, envelope, raw, inbound };
      } catch (err) {
        await this.deadLetter(msg, "schema", err);
        continue;
      }
      items.push(item);
    }
    const last = batch[batch.length - 1];
    if (last !== undefined) {
      this.options.metrics.pending.set(
        { function: this.def.name, consumer: this.durable },
        last.info.pending,
      );
    }
    if (items.length > 0) await this.state.exclusive(() => this.run(items, true));
    endTimer();
  }

  /** Invokes the function on `items`; on failure of a multi-message batch, retries them one by one. */
  private async run(items: readonly Item[], split: boolean): Promise<void> {
    let loaded: Awaited<ReturnType<FunctionState["current"]>>;
    try {
      loaded = await this.state.current();
    } catch (err) {
      this.logger.warn({ err }, "loading the function state failed; requeueing the batch");
      this.requeue(items);
      return;
    }
    const payload: BatchPayload = {
      kind: BATCH_KIND,
      function: this.def.name,
      stream: this.stream,
      messages: items.map((i) => ({
        seq: i.seq,
        subject: i.msg.subject,
        deliveryCount: i.deliveryCount,
        event: i.raw,
      })),
      now: Date.now(),
      ...(loaded.value.state !== undefined ? { state: loaded.value.state } : {}),
    };
    const heartbeat = setInterval(
      () => {
        for (const i of items) i.msg.working();
      },
      Math.max(250, this.ackWaitMs / 3),
    );
    let result: BatchResult;
    try {
      result = await this.options.invoker.invoke(
        this.def,
        payload,
        items.map((i) => i.inbound),
        this.liveChannel(items),
      );
      this.options.metrics.invocations.inc({
        function: this.def.name,
        invoker: this.options.invoker.kind,
        outcome: "ok",
      });
    } catch (err) {
      clearInterval(heartbeat);
      const ranAndFailed = err instanceof FunctionFailedError;
      this.options.metrics.invocations.inc({
        function: this.def.name,
        invoker: this.options.invoker.kind,
        outcome: ranAndFailed ? "error" : "unavailable",
      });
      if (!ranAndFailed) {
        // The function could not be reached (network, throttled past the retries, not deployed):
        // the messages are not at fault, so they are retried later and never dead-lettered for it.
        this.logger.error({ err }, "function could not be invoked; requeueing the batch");
        this.requeue(items);
        return;
      }
      if (split && items.length > 1) {
        this.logger.warn({ err, messages: items.length }, "batch failed; retrying its messages one by one");
        for (const item of items) await this.run([item], false);
        return;
      }
      for (const item of items) await this.fail(item, err);
      return;
    }
    try {
      await this.commit(items, result);
    } catch (err) {
      this.abandon(items, err);
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** A commit that did not finish: requeued (a probe's simulated crash leaves it as a crash would). */
  private abandon(items: readonly Item[], err: unknown): void {
    if (err instanceof Abandoned) {
      this.logger.warn({ seqs: items.map((i) => i.seq) }, "batch abandoned by the probe (simulated crash)");
      return;
    }
    this.state.invalidate();
    if (err instanceof StateConflictError) {
      this.logger.warn({ err }, "state changed under us; requeueing the batch");
    } else {
      this.logger.warn({ err }, "publishing the batch's effects failed; requeueing it");
    }
    this.requeue(items);
  }

  /**
   * Interim effects a running handler publishes at once (progress): events with the ids
   * `<type>:<fn>:<stream>:<cause>:live:<n>`, objects stored as they come. Outside the commit.
   */
  private liveChannel(items: readonly Item[]): LiveChannel {
    const fn = this.def.name;
    const bus = this.deps.bus;
    const causes = new Map(items.map((i) => [i.seq, i.envelope]));
    const next = new Map<number, number>();
    return {
      publish: async ({ events = [], objects = [] }) => {
        if (objects.length > 0) {
          const store = await bus.objectStore(objectStores.results);
          for (const o of objects) await store.putBlob({ name: o.name }, bus.encode(o.data));
        }
        for (const e of events) {
          if (!causes.has(e.cause))
            throw new Error(`${fn} published live output for cause ${e.cause}, not in the batch`);
          const n = next.get(e.cause) ?? 0;
          next.set(e.cause, n + 1);
          const id = liveOutputId(e.type, fn, this.stream, e.cause, n);
          const event = makeEvent(
            { id, type: e.type, source: fn, subject: e.subject, data: e.data },
            causes.get(e.cause),
          );
          await bus.publishEvent(event, { msgID: id });
        }
      },
    };
  }

  /**
   * Publishes the outputs (deterministic ids) all at once and waits for all their acks, then saves the
   * state and acks the inputs: an input is acked only once everything it caused is stored.
   */
  private async commit(items: readonly Item[], result: BatchResult): Promise<void> {
    const fn = this.def.name;
    const bus = this.deps.bus;
    const causes = new Map(items.map((i) => [i.seq, i.envelope]));
    const next = new Map<number, number>();
    // Outputs are numbered per cause in the order events, records, objects.
    const indexOf = (cause: number) => {
      const index = next.get(cause) ?? 0;
      next.set(cause, index + 1);
      return index;
    };
    const idOf = (type: string, cause: number) => outputId(type, fn, this.stream, cause, indexOf(cause));
    const outputs: EventEnvelope[] = [];
    for (const e of result.events) {
      const id = idOf(e.type, e.cause);
      outputs.push(
        makeEvent({ id, type: e.type, source: fn, subject: e.subject, data: e.data }, causes.get(e.cause)),
      );
    }
    for (const r of result.records) {
      const id = idOf(r.type, r.cause);
      const subject = subjects.audit.of(fn, r.kind);
      outputs.push(makeEvent({ id, type: r.type, source: fn, subject, data: r.data }, causes.get(r.cause)));
    }
    // Objects are stored before the events that announce them are published, so a consumer that
    // reads `…completed` always finds the stored result; and one after another in the order the
    // function lists them, so one may announce another (a run's status after its result).
    if (result.objects.length > 0) {
      const store = await bus.objectStore(objectStores.results);
      for (const o of result.objects) {
        indexOf(o.cause);
        await store.putBlob({ name: o.name }, bus.encode(o.data));
      }
    }
    await bus.publishEvents(outputs);
    await this.settle(items, result);
  }

  /** After the batch's outputs are stored: saves the state (stateful functions), then acks the inputs. */
  private async settle(items: readonly Item[], result: BatchResult): Promise<void> {
    const fn = this.def.name;
    const m = this.options.metrics.outputs;
    if (result.events.length > 0) m.inc({ function: fn, kind: "event" }, result.events.length);
    if (result.records.length > 0) m.inc({ function: fn, kind: "record" }, result.records.length);
    if (result.objects.length > 0) m.inc({ function: fn, kind: "object" }, result.objects.length);
    const seqs = items.map((i) => i.seq);
    await this.probe("published", seqs);
    if (this.state.stateful) {
      const loaded = await this.state.current();
      await this.state.save(
        this.durable,
        result.state ?? loaded.value.state,
        seqs,
        await this.currentAckFloor(),
      );
      await this.probe("state_saved", seqs);
    }
    for (const i of items) i.msg.ack();
    this.state.markCommitted(this.durable, seqs);
    this.count("processed", items.length);
    this.options.onAck?.(seqs);
  }

  private async probe(phase: CommitPhase, seqs: readonly number[]): Promise<void> {
    if (this.options.probe === undefined) return;
    try {
      await this.options.probe(phase, seqs);
    } catch {
      throw new Abandoned(phase);
    }
  }

  /** The consumer's ack floor, refreshed at most once a second (prunes the applied set). */
  private async currentAckFloor(): Promise<number> {
    if (Date.now() - this.ackFloorAt < 1_000) return this.ackFloor;
    try {
      const info = await this.deps.bus.jsm.consumers.info(this.stream, this.durable);
      this.ackFloor = info.ack_floor.stream_seq;
      this.ackFloorAt = Date.now();
    } catch (err) {
      this.logger.debug({ err }, "consumer info failed; keeping the previous ack floor");
    }
    return this.ackFloor;
  }

  /** Infrastructure trouble (publish, KV): try again later, never dead-letter for it. */
  private requeue(items: readonly Item[]): void {
    for (const i of items) i.msg.nak(backoffDelay(i.deliveryCount, this.backoffBase, this.backoffMax));
    this.count("requeued", items.length);
  }

  /** The function failed on this message: retry with backoff, or dead-letter after max deliveries. */
  private async fail(item: Item, err: unknown): Promise<void> {
    if (item.deliveryCount >= this.maxDeliveries) {
      await this.deadLetter(item.msg, "max_deliveries", err);
      return;
    }
    const delay = backoffDelay(item.deliveryCount, this.backoffBase, this.backoffMax);
    this.logger.warn(
      { seq: item.seq, deliveryCount: item.deliveryCount, delay, err: errorOf(err) },
      "function failed; retrying with backoff",
    );
    item.msg.nak(delay);
    this.count("retried");
  }

  private async deadLetter(msg: JsMsg, reason: DeadLetter["reason"], err: unknown): Promise<void> {
    const fn = this.def.name;
    const seq = msg.info.streamSequence;
    const headers: Record<string, string[]> = {};
    if (msg.headers !== undefined) for (const [k, v] of msg.headers) headers[k] = v;
    const text = decoder.decode(msg.data);
    const utf8 = Buffer.from(text, "utf8").equals(Buffer.from(msg.data));
    const letter: DeadLetter = {
      function: fn,
      consumer: this.durable,
      stream: this.stream,
      seq,
      subject: msg.subject,
      payload: utf8 ? text : Buffer.from(msg.data).toString("base64"),
      payloadEncoding: utf8 ? "utf8" : "base64",
      headers,
      reason,
      error: errorOf(err),
      deliveryCount: msg.info.deliveryCount,
      deadLetteredAt: Date.now(),
    };
    const id = messageId(DEAD_LETTER_TYPE, fn, this.stream, seq);
    try {
      await this.deps.bus.publishEvent(
        makeEvent({ id, type: DEAD_LETTER_TYPE, source: fn, subject: subjects.dlq.of(fn), data: letter }),
        { msgID: id },
      );
    } catch (publishErr) {
      this.logger.error({ err: publishErr, seq }, "dead-lettering failed; the message will be redelivered");
      msg.nak(backoffDelay(msg.info.deliveryCount, this.backoffBase, this.backoffMax));
      return;
    }
    // term() without a reason: nats-server 2.9 ignores term("reason") and redelivers.
    msg.term();
    this.count(reason === "schema" ? "schema_rejected" : "dead_lettered");
    this.logger.warn({ seq, reason, error: letter.error, subject: msg.subject }, "message dead-lettered");
  }
}

function parseJson(seq: number, data: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(data));
  } catch {
    throw new SchemaError(seq, [{ path: "", message: "the payload is not JSON" }]);
  }
}

function errorOf(err: unknown): { name: string; message: string } {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? err.cause : undefined;
    return { name: cause?.name ?? err.name, message: err.message };
  }
  return { name: "Error", message: String(err) };
}
