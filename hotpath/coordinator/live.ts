import type { Subscription } from "@nats-io/transport-node";
import type { Hono } from "hono";
import { z } from "zod";
import type { Bus } from "../../adapters/nats/bus.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { subjects } from "../../core/subjects.ts";
import type { Logger } from "../../core/telemetry/log.ts";

/** What a browser may follow: domain events and market data, never tool calls, commands or audit. */
export const LIVE_ROOTS = [subjects.events.all, subjects.market.all] as const;

/** A NATS subject pattern under `events.` or `market.` (`*` one token, `>` the rest). */
const Pattern = z
  .string()
  .max(200)
  .regex(
    /^(events|market)(\.([A-Za-z0-9_-]+|\*))*(\.>)?$/,
    "a subject pattern under events. or market., e.g. events.trade.> or market.*.candle.>",
  );

export const LiveQuery = z.object({
  subject: z
    .array(Pattern)
    .min(1)
    .max(20)
    .default([...LIVE_ROOTS]),
});

/** NATS wildcard matching: `*` matches one token, a trailing `>` one or more. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    const token = p[i];
    if (token === ">") return s.length > i;
    if (i >= s.length) return false;
    if (token !== "*" && token !== s[i]) return false;
  }
  return p.length === s.length;
}

export interface LiveHubOptions {
  /** Bytes a slow client may have queued before it is cut off (it reconnects and reloads). */
  maxQueuedBytes?: number;
  /** Milliseconds between keep-alive comments. */
  heartbeatMs?: number;
}

interface Client {
  readonly id: number;
  readonly patterns: readonly string[];
  readonly controller: ReadableStreamDefaultController<Uint8Array>;
  pending: Uint8Array[];
  closed: boolean;
}

const encoder = new TextEncoder();

/**
 * Fans bus messages out to Server-Sent-Events clients. One core-NATS subscription per root subject
 * (taken while at least one client is connected) feeds every client; each message is encoded once,
 * and the frames of one event-loop turn go out as one chunk per client. A client that stops reading
 * is cut off once `maxQueuedBytes` are queued for it, so one slow browser cannot grow the heap.
 */
export class LiveHub {
  private readonly clients = new Map<number, Client>();
  private subscriptions: Subscription[] = [];
  private nextId = 1;
  private seq = 0;
  private flushScheduled = false;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly maxQueuedBytes: number;
  delivered = 0;
  dropped = 0;

  constructor(
    private readonly bus: Bus,
    private readonly logger: Logger,
    options: LiveHubOptions = {},
  ) {
    this.maxQueuedBytes = options.maxQueuedBytes ?? 4 * 1024 * 1024;
    this.heartbeat = setInterval(
      () => this.broadcast(encoder.encode(": ping\n\n")),
      options.heartbeatMs ?? 15_000,
    );
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** A new client's event stream; it ends when `signal` aborts or the reader cancels. */
  open(patterns: readonly string[], signal?: AbortSignal): ReadableStream<Uint8Array> {
    const id = this.nextId++;
    let client: Client | undefined;
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          client = { id, patterns, controller, pending: [], closed: false };
          this.clients.set(id, client);
          this.ensureSubscribed();
          const hello = JSON.stringify({ client: id, subjects: patterns });
          controller.enqueue(encoder.encode(`retry: 2000\nevent: hello\ndata: ${hello}\n\n`));
        },
        cancel: () => this.remove(id),
      },
      new ByteLengthQueuingStrategy({ highWaterMark: this.maxQueuedBytes }),
    );
    signal?.addEventListener("abort", () => this.close(id), { once: true });
    return stream;
  }

  /** Stops every stream and the bus subscriptions. */
  stop(): void {
    clearInterval(this.heartbeat);
    for (const id of [...this.clients.keys()]) this.close(id);
    this.unsubscribe();
  }

  private ensureSubscribed(): void {
    if (this.subscriptions.length > 0) return;
    this.subscriptions = LIVE_ROOTS.map((root) =>
      this.bus.nc.subscribe(root, {
        callback: (err, msg) => {
          if (err !== null) {
            this.logger.warn({ err, subject: root }, "live subscription error");
            return;
          }
          this.dispatch(msg.subject, msg.data);
        },
      }),
    );
  }

  private unsubscribe(): void {
    for (const s of this.subscriptions) s.unsubscribe();
    this.subscriptions = [];
  }

  /** Queues one bus message (an event envelope, JSON on one line) for every client that follows it. */
  dispatch(subject: string, payload: Uint8Array): void {
    let frame: Uint8Array | undefined;
    for (const client of this.clients.values()) {
      if (!client.patterns.some((p) => subjectMatches(p, subject))) continue;
      frame ??= this.frame(payload);
      client.pending.push(frame);
    }
    if (frame !== undefined && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private frame(payload: Uint8Array): Uint8Array {
    this.seq += 1;
    const head = encoder.encode(`id: ${this.seq}\ndata: `);
    const out = new Uint8Array(head.length + payload.length + 2);
    out.set(head, 0);
    out.set(payload, head.length);
    out[out.length - 2] = 10;
    out[out.length - 1] = 10;
    return out;
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const client of this.clients.values()) {
      if (client.pending.length === 0) continue;
      const frames = client.pending;
      client.pending = [];
      this.write(
        client,
        frames.length === 1 ? (frames[0] as Uint8Array) : Buffer.concat(frames),
        frames.length,
      );
    }
  }

  private broadcast(chunk: Uint8Array): void {
    for (const client of this.clients.values()) this.write(client, chunk, 0);
  }

  private write(client: Client, chunk: Uint8Array, events: number): void {
    if (client.closed) return;
    if ((client.controller.desiredSize ?? 0) <= 0) {
      this.dropped += 1;
      this.logger.warn({ client: client.id }, "live client too slow; disconnected (it will reconnect)");
      this.close(client.id);
      return;
    }
    try {
      client.controller.enqueue(chunk);
      this.delivered += events;
    } catch {
      this.remove(client.id);
    }
  }

  private close(id: number): void {
    const client = this.clients.get(id);
    if (client === undefined) return;
    this.remove(id);
    try {
      client.controller.close();
    } catch {
      // already closed by the reader
    }
  }

  private remove(id: number): void {
    const client = this.clients.get(id);
    if (client === undefined) return;
    client.closed = true;
    this.clients.delete(id);
    if (this.clients.size === 0) this.unsubscribe();
  }
}

/**
 * `GET /events`: Server-Sent Events from the bus. `?subject=` (repeatable) narrows what is sent,
 * e.g. `?subject=events.trade.>&subject=market.paper.candle.>`; default everything under `events.>`
 * and `market.>`. Each `data:` line is one event envelope as published.
 */
export function mountLive(app: Hono, hub: LiveHub): void {
  app.get("/events", (c) => {
    const parsed = LiveQuery.safeParse({
      subject: c.req.queries("subject")?.flatMap((s) => s.split(",")) ?? undefined,
    });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return c.json(
        {
          error: {
            code: RpcCode.InvalidParams,
            message: `invalid subject: ${issue?.message ?? "?"}`,
            data: {
              issues: parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message })),
            },
          },
        },
        400,
      );
    }
    const stream = hub.open(parsed.data.subject, c.req.raw.signal);
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        "x-accel-buffering": "no",
      },
    });
  });
}
