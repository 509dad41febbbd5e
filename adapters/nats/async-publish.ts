import { JetStreamApiError, type PubAck } from "@nats-io/jetstream";
import {
  createInbox,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  NoRespondersError,
  type Subscription,
  TimeoutError,
} from "@nats-io/transport-node";

/** One message for JetStream: its subject, payload and headers (with the Nats-Msg-Id to dedup on). */
export interface OutgoingMessage {
  subject: string;
  data: Uint8Array;
  headers: MsgHdrs;
}

interface Batch {
  readonly subjects: readonly string[];
  readonly acks: PubAck[];
  readonly tokens: number[];
  left: number;
  done: boolean;
  timer: NodeJS.Timeout | undefined;
  resolve(acks: PubAck[]): void;
  reject(err: unknown): void;
}

/**
 * JetStream publishes pipelined over one core-NATS subscription (what the Go client's PublishAsync
 * does, which nats.js lacks): every message goes out at once with the reply subject `<inbox>.<n>`,
 * the stream's acks come back on `<inbox>.*`, and a batch resolves when all of its messages are
 * stored. `js.publish` is a request per message instead: a timer, a promise chain and an Error (the
 * "cancelled" rejection of an already resolved request, with its stack) each, which made it the
 * trigger's bound.
 *
 * A batch rejects on the first failure (an error ack, no stream for a subject, the connection
 * closed) or when its acks are not all back within `timeoutMs`; the messages already stored stay
 * stored, so a caller retries the whole batch with the same message ids and the stream deduplicates.
 */
export class AsyncPublisher {
  private readonly prefix = `${createInbox()}.`;
  private sub: Subscription | undefined;
  private next = 0;
  private readonly waiting = new Map<number, { batch: Batch; index: number }>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs = 5_000,
  ) {}

  /** Messages whose acks have not come back yet. */
  get inFlight(): number {
    return this.waiting.size;
  }

  /** Publishes the messages in order and resolves with their acks once the streams stored them all. */
  publishAll(messages: readonly OutgoingMessage[]): Promise<PubAck[]> {
    if (messages.length === 0) return Promise.resolve([]);
    return new Promise<PubAck[]>((resolve, reject) => {
      const batch: Batch = {
        subjects: messages.map((m) => m.subject),
        acks: new Array<PubAck>(messages.length),
        tokens: [],
        left: messages.length,
        done: false,
        timer: undefined,
        resolve,
        reject,
      };
      try {
        const sub = this.subscription();
        batch.timer = setTimeout(() => this.fail(batch, new TimeoutError()), this.timeoutMs);
        for (const [index, m] of messages.entries()) {
          const token = this.next++;
          batch.tokens.push(token);
          this.waiting.set(token, { batch, index });
          this.nc.publish(m.subject, m.data, { reply: `${this.prefix}${token}`, headers: m.headers });
        }
        if (sub.isClosed()) throw new Error("the publish ack subscription is closed");
      } catch (err) {
        this.fail(batch, err);
      }
    });
  }

  private subscription(): Subscription {
    if (this.sub === undefined || this.sub.isClosed()) {
      this.sub = this.nc.subscribe(`${this.prefix}*`, {
        callback: (err, msg) => {
          if (err !== null) {
            for (const { batch } of [...this.waiting.values()]) this.fail(batch, err);
            return;
          }
          this.onAck(msg);
        },
      });
    }
    return this.sub;
  }

  private onAck(msg: Msg): void {
    const token = Number(msg.subject.slice(this.prefix.length));
    const entry = this.waiting.get(token);
    // A late ack of a batch that already failed (timed out): nothing waits for it.
    if (entry === undefined) return;
    this.waiting.delete(token);
    const { batch, index } = entry;
    const subject = batch.subjects[index] ?? "";
    if (msg.data.length === 0 && msg.headers?.code === 503) {
      this.fail(batch, new NoRespondersError(subject));
      return;
    }
    let ack: PubAck;
    try {
      ack = parseAck(msg.data);
    } catch (err) {
      this.fail(batch, err);
      return;
    }
    batch.acks[index] = ack;
    batch.left--;
    if (batch.left === 0 && !batch.done) {
      batch.done = true;
      clearTimeout(batch.timer);
      batch.resolve(batch.acks);
    }
  }

  private fail(batch: Batch, err: unknown): void {
    if (batch.done) return;
    batch.done = true;
    clearTimeout(batch.timer);
    for (const token of batch.tokens) this.waiting.delete(token);
    batch.reject(err);
  }
}

const decoder = new TextDecoder();

/** A stream's publish ack, or its error reply as a JetStreamApiError. */
function parseAck(data: Uint8Array): PubAck {
  const v = JSON.parse(decoder.decode(data)) as {
    stream?: string;
    seq?: number;
    duplicate?: boolean;
    domain?: string;
    error?: { code: number; err_code?: number; description: string };
  };
  if (v.error !== undefined) throw new JetStreamApiError({ err_code: 0, ...v.error });
  if (typeof v.stream !== "string" || v.stream === "" || typeof v.seq !== "number") {
    throw new Error("invalid JetStream publish ack");
  }
  const ack: PubAck = { stream: v.stream, seq: v.seq, duplicate: v.duplicate === true };
  if (v.domain !== undefined) ack.domain = v.domain;
  return ack;
}
