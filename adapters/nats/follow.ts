import { type ConsumerMessages, DeliverPolicy, type JsMsg } from "@nats-io/jetstream";
import type { MsgHdrs } from "@nats-io/transport-node";
import type { z } from "zod";
import type { Logger } from "../../core/telemetry/log.ts";
import type { Bus } from "./bus.ts";
import { waitOutOutage } from "./outage.ts";

/**
 * The one way to read a stream: `follow(bus, stream, filter, schema, handler)` delivers every message
 * stored on `filter`, parsed by `schema`, to `handler`, one at a time and in stream order.
 *
 *   - **Consumer.** By default an ordered consumer of this process only (no acks, nothing left on the
 *     server when it stops): every replica replays the stream itself. With `durable`, a durable
 *     consumer with explicit acks, acked after the handler returns: at-least-once across restarts
 *     (a handler that throws gets the message again, after the consumer's ack wait).
 *   - **Start.** `from`: everything the stream holds (default), only new messages, a stream sequence
 *     or a time (ms).
 *   - **Bad messages.** A message that is not JSON or fails `schema` is logged, counted in
 *     `stats.rejected` and skipped (a durable consumer terminates it: it is never redelivered).
 *   - **Catch-up and bounded reads.** `caughtUp` resolves once everything stored when following began
 *     has been handled; with `toEnd` the follow ends there by itself (`done` resolves).
 *   - **Bus outages.** When the bus reconnects (live follows; a `toEnd` read is short and does not) (a restarted nats-server loses ordered consumers), the
 *     consumer is opened again after the last message handled, waiting out JetStream's recovery; a
 *     handler should be idempotent for the durable case (a message handled but not yet acked comes
 *     again).
 *   - **Stop.** `stop()` ends intake and resolves once the message in hand is handled (and acked); a
 *     handler that returns `"stop"` ends the follow after its message.
 */

/** Where a follow starts: everything stored, only what is published from now, a sequence, or a time (ms). */
export type FollowFrom = "all" | "new" | { seq: number } | { time: number };

export interface FollowOptions {
  logger: Logger;
  /** A durable consumer name (explicit ack after the handler); absent: an ordered consumer. */
  durable?: string;
  from?: FollowFrom;
  /** End the follow once the last message stored when it began is handled (a bounded read). */
  toEnd?: boolean;
  /** Named in the logs (default `<stream> <filter>`). */
  name?: string;
  /**
   * An ordered follow reads the stream unfiltered and picks the filter's subjects itself (the others
   * are skipped undecoded): nats-server 2.9 spent up to ~100 µs of CPU per message delivered through
   * a filtered consumer (on a restarted server over a large store; 4–12 µs other times) and ~4 µs
   * without one, so this is never dearer for a filter that holds most of what the stream stores
   * (risk's `events.trade.>` of EVENTS). Ignored with `durable`.
   */
  pick?: boolean;
}

/** True when a NATS subject matches a filter (`*` one token, a final `>` one or more). */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split(".");
  const s = subject.split(".");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === ">") return i === f.length - 1 && s.length > i;
    if (i >= s.length || (f[i] !== "*" && f[i] !== s[i])) return false;
  }
  return f.length === s.length;
}

/** What the handler learns about the message besides its parsed value. */
export interface Delivery {
  readonly seq: number;
  readonly subject: string;
  /** When the stream stored it (ms). */
  readonly time: number;
  readonly headers: MsgHdrs | undefined;
  /** 1 on the first delivery. */
  readonly deliveryCount: number;
}

export interface FollowStats {
  handled: number;
  rejected: number;
  failed: number;
}

export interface Following {
  readonly stats: FollowStats;
  /** Stream sequence of the last message handled (0: none yet). */
  readonly lastSeq: number;
  /** Resolves once everything stored when the follow began has been handled. */
  readonly caughtUp: Promise<void>;
  /** Resolves when the follow has ended: stopped, or at the end of a `toEnd` read. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** Handles one message; returning `"stop"` ends the follow after it (a read that found what it wanted). */
export type FollowHandler<T> = (value: T, delivery: Delivery) => FollowVerdict | Promise<FollowVerdict>;
// biome-ignore lint/suspicious/noConfusingVoidType: a handler that returns nothing continues
export type FollowVerdict = void | "stop";

export async function follow<T>(
  bus: Bus,
  stream: string,
  filter: string,
  schema: z.ZodType<T>,
  handler: FollowHandler<T>,
  options: FollowOptions,
): Promise<Following> {
  const f = new Follower(bus, stream, filter, schema, handler, options);
  await f.start();
  return f;
}

class Follower<T> implements Following {
  readonly stats: FollowStats = { handled: 0, rejected: 0, failed: 0 };
  lastSeq = 0;
  readonly caughtUp: Promise<void>;
  readonly done: Promise<void>;
  private markCaughtUp!: () => void;
  private markDone!: () => void;
  private isCaughtUp = false;
  private stopped = false;
  /** The last sequence stored on the filter when the follow began (0: none). */
  private endSeq = 0;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> = Promise.resolve();
  private readonly name: string;

  constructor(
    private readonly bus: Bus,
    private readonly stream: string,
    private readonly filter: string,
    private readonly schema: z.ZodType<T>,
    private readonly handler: FollowHandler<T>,
    private readonly options: FollowOptions,
  ) {
    this.name = options.name ?? `${stream} ${filter}`;
    this.caughtUp = new Promise((r) => {
      this.markCaughtUp = r;
    });
    this.done = new Promise((r) => {
      this.markDone = r;
    });
  }

  async start(): Promise<void> {
    this.endSeq = await this.lastStored();
    if (this.endSeq === 0) this.reachEnd();
    if (this.stopped) return;
    await this.open();
    // A bounded read is short; a live follow outlives outages.
    if (this.options.toEnd !== true) this.reopenOnReconnect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.messages?.close().catch(() => undefined);
    await this.loop;
    this.markDone();
  }

  /** The last sequence stored on the filter at or after the start position, 0 when there is none. */
  private async lastStored(): Promise<number> {
    const from = this.options.from ?? "all";
    if (from === "new") return 0;
    const last = await this.bus.jsm.streams
      .getMessage(this.stream, { last_by_subj: this.filter })
      .catch(() => null);
    if (last === null) return 0;
    if (typeof from === "object" && "seq" in from && last.seq < from.seq) return 0;
    if (typeof from === "object" && "time" in from && last.time.getTime() < from.time) return 0;
    return last.seq;
  }

  private deliverPolicy() {
    if (this.lastSeq > 0)
      return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.lastSeq + 1 };
    const from = this.options.from ?? "all";
    if (from === "all") return { deliver_policy: DeliverPolicy.All };
    if (from === "new") return { deliver_policy: DeliverPolicy.New };
    if ("seq" in from) return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from.seq };
    return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(from.time).toISOString() };
  }

  /** Opens (or reopens after `lastSeq`) the consumer and runs its loop. */
  private async open(): Promise<void> {
    const { bus, stream, filter } = this;
    const durable = this.options.durable;
    let consumer: Awaited<ReturnType<Bus["consumer"]>>;
    if (durable === undefined) {
      const filtered = this.options.pick === true ? {} : { filter_subjects: filter };
      consumer = await bus.js.consumers.get(stream, { ...filtered, ...this.deliverPolicy() });
    } else {
      // A durable consumer resumes from its ack floor; the start position applies when it is created.
      await bus.ensureConsumer(stream, durable, { filter_subject: filter, ...this.deliverPolicy() });
      consumer = await bus.consumer(stream, durable);
    }
    const messages = await consumer.consume();
    this.messages = messages;
    this.loop = (async () => {
      for await (const m of messages) {
        await this.deliver(m);
        if (this.stopped) break;
      }
    })().catch((err: unknown) => this.options.logger.error({ err, follow: this.name }, "consumer stopped"));
  }

  private async deliver(m: JsMsg): Promise<void> {
    const durable = this.options.durable !== undefined;
    if (!durable && this.options.pick === true && !subjectMatches(this.filter, m.subject)) {
      this.passed(m);
      return;
    }
    const parsed = this.parse(m);
    if (parsed.ok) {
      try {
        const verdict = await this.handler(parsed.value, {
          seq: m.seq,
          subject: m.subject,
          time: Math.floor(m.info.timestampNanos / 1e6),
          headers: m.headers,
          deliveryCount: m.info.deliveryCount,
        });
        this.stats.handled++;
        if (durable) m.ack();
        if (verdict === "stop") this.end();
      } catch (err) {
        this.stats.failed++;
        this.options.logger.error({ err, follow: this.name, seq: m.seq }, "handler failed");
        if (durable) {
          m.nak();
          return;
        }
      }
    } else if (durable) {
      m.term();
    }
    this.passed(m);
  }

  /** The follow is past `m` (handled, rejected or not on the filter). */
  private passed(m: JsMsg): void {
    this.lastSeq = m.seq;
    if (!this.isCaughtUp && (m.seq >= this.endSeq || m.info.pending === 0)) this.reachEnd();
  }

  private parse(m: JsMsg): { ok: true; value: T } | { ok: false } {
    let raw: unknown;
    try {
      raw = m.json();
    } catch (err) {
      return this.reject(m, err);
    }
    const parsed = this.schema.safeParse(raw);
    return parsed.success ? { ok: true, value: parsed.data } : this.reject(m, parsed.error);
  }

  private reject(m: JsMsg, err: unknown): { ok: false } {
    this.stats.rejected++;
    this.options.logger.warn(
      { err, follow: this.name, subject: m.subject, seq: m.seq },
      "malformed message skipped",
    );
    return { ok: false };
  }

  private reachEnd(): void {
    this.isCaughtUp = true;
    this.markCaughtUp();
    if (this.options.toEnd === true) this.end();
  }

  /** Ends the follow from inside the loop (which breaks after the message in hand). */
  private end(): void {
    this.stopped = true;
    void this.messages?.close().catch(() => undefined);
    this.markDone();
  }

  /**
   * After the bus reconnects (a restarted nats-server loses ordered consumers, and JetStream may not
   * answer yet when the client's own reset runs), the consumer is reopened after the last message
   * handled.
   */
  private reopenOnReconnect(): void {
    const { bus, options } = this;
    void (async () => {
      for await (const s of bus.nc.status()) {
        if (this.stopped) break;
        if (s.type !== "reconnect") continue;
        await waitOutOutage(
          bus,
          `reopen ${this.name}`,
          async () => {
            await bus.jsm.streams.info(this.stream);
            await this.messages?.close().catch(() => undefined);
            await this.loop;
            if (!this.stopped) await this.open();
          },
          options.logger,
        );
        options.logger.info(
          { follow: this.name, lastSeq: this.lastSeq },
          "consumer reopened after a reconnect",
        );
      }
    })().catch((err: unknown) => options.logger.error({ err, follow: this.name }, "reopen failed"));
  }
}
