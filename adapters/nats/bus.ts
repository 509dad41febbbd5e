import {
  type ConnectionOptions,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
  connect,
  headers as natsHeaders,
} from "@nats-io/transport-node";
import {
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamClient,
  type JetStreamManager,
  type PubAck,
  AckPolicy,
  DeliverPolicy,
  PubHeaders,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { type ObjectStore, Objm } from "@nats-io/obj";
import type { Bus as BusPort } from "../../core/ports/bus.ts";
import type { EventEnvelope } from "../../core/protocol/envelope.ts";
import { AsyncPublisher } from "./async-publish.ts";
import { MuxedRequests } from "./request.ts";
import { headers, type KvSpec } from "../../core/subjects.ts";
import type { Logger } from "../../core/telemetry/log.ts";

export interface BusOptions {
  /** One URL or a comma-separated list of servers. */
  url: string;
  /** Connection name shown by the server (`bot4-risk-<instance>`). */
  name: string;
  logger: Logger;
  /** Reconnect attempts before giving up; -1 (default) never gives up. */
  maxReconnectAttempts?: number;
  /** First reconnect delay in ms, doubled per failed attempt up to `maxReconnectDelayMs`. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  user?: string;
  pass?: string;
  token?: string;
}

/** Options for publishing an event to JetStream. */
export interface PublishOptions {
  /** The deduplicating Nats-Msg-Id; defaults to the event id. */
  msgID?: string;
  /** Overrides the subject of the envelope. */
  subject?: string;
  /** The envelope already serialized (`JSON.stringify(event)`), so it is not serialized again. */
  json?: string;
}

/**
 * The process's one NATS connection and the JetStream, KV and object store handles built on it.
 * Adapters over `@nats-io/*` live here so the rest of the code speaks envelopes and subjects.
 */
export class Bus implements BusPort {
  readonly js: JetStreamClient;
  private readonly kvm: Kvm;
  private readonly objm: Objm;
  private readonly kvs = new Map<string, Promise<KV>>();
  private readonly objs = new Map<string, Promise<ObjectStore>>();
  private readonly encoder = new TextEncoder();
  private publisher: AsyncPublisher | undefined;
  private up = true;
  private readonly requests: MuxedRequests;

  private constructor(
    readonly nc: NatsConnection,
    readonly jsm: JetStreamManager,
    readonly logger: Logger,
  ) {
    this.js = jetstream(nc);
    this.kvm = new Kvm(this.js);
    this.objm = new Objm(this.js);
    this.requests = new MuxedRequests(nc);
  }

  static async connect(options: BusOptions): Promise<Bus> {
    const base = options.reconnectDelayMs ?? 250;
    const cap = options.maxReconnectDelayMs ?? 2_000;
    let attempt = 0;
    const { servers, user, pass } = splitCredentials(options.url);
    const connectionOptions: ConnectionOptions = {
      servers,
      name: options.name,
      maxReconnectAttempts: options.maxReconnectAttempts ?? -1,
      reconnectDelayHandler: () => {
        const delay = Math.min(cap, base * 2 ** attempt);
        attempt += 1;
        return delay + Math.floor(Math.random() * (delay / 4));
      },
      waitOnFirstConnect: false,
      noAsyncTraces: true,
      ...(options.user !== undefined
        ? { user: options.user, pass: options.pass }
        : user !== undefined
          ? { user, pass }
          : {}),
      ...(options.token !== undefined ? { token: options.token } : {}),
    };
    const nc = await connect(connectionOptions);
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    const bus = new Bus(nc, jsm, options.logger);
    bus.watchStatus(() => {
      attempt = 0;
    });
    options.logger.info({ server: nc.getServer(), connection: options.name }, "bus connected");
    return bus;
  }

  private watchStatus(onReconnect: () => void): void {
    void (async () => {
      for await (const s of this.nc.status()) {
        switch (s.type) {
          case "disconnect":
            this.up = false;
            this.logger.warn({ server: s.server }, "bus disconnected");
            break;
          case "reconnecting":
            this.logger.info("bus reconnecting");
            break;
          case "reconnect":
            this.up = true;
            onReconnect();
            this.logger.info({ server: s.server }, "bus reconnected");
            break;
          case "error":
            this.requests.refused(s.error);
            this.logger.error({ err: s.error }, "bus error");
            break;
          case "staleConnection":
            this.logger.warn("bus connection stale");
            break;
          default:
            this.logger.debug({ status: s.type }, "bus status");
        }
      }
    })();
  }

  /** True while the connection is up: not between a disconnect and the reconnect, not draining or closed. */
  get connected(): boolean {
    return this.up && !this.nc.isClosed() && !this.nc.isDraining();
  }

  encode(value: unknown): Uint8Array {
    return this.encoder.encode(JSON.stringify(value));
  }

  /**
   * Publishes an event to JetStream and waits for the stream's ack. The message id defaults to the
   * event id, so publishing the same event twice inside the duplicate window stores it once.
   */
  async publishEvent(event: EventEnvelope, options: PublishOptions = {}): Promise<PubAck> {
    const data = options.json === undefined ? this.encode(event) : this.encoder.encode(options.json);
    return this.js.publish(options.subject ?? event.subject, data, {
      msgID: options.msgID ?? event.id,
      headers: eventHeaders(event),
    });
  }

  /**
   * Publishes many events at once, pipelined (see {@link AsyncPublisher}), and resolves with their
   * acks once the streams stored them all; rejects on the first failure or after 5 s. Each
   * message id is the event id, so a retry of the whole batch stores each event once. `json[i]`,
   * when given, is event i already serialised (text, or its UTF-8 bytes), sent as it is.
   */
  publishEvents(
    events: readonly EventEnvelope[],
    json?: readonly (string | Uint8Array | undefined)[],
  ): Promise<PubAck[]> {
    if (this.publisher === undefined) this.publisher = new AsyncPublisher(this.nc);
    return this.publisher.publishAll(
      events.map((event, i) => {
        const h = eventHeaders(event);
        h.set(PubHeaders.MsgIdHdr, event.id);
        const text = json?.[i];
        const data =
          text === undefined
            ? this.encode(event)
            : typeof text === "string"
              ? this.encoder.encode(text)
              : text;
        return { subject: event.subject, data, headers: h };
      }),
    );
  }

  /** Core-NATS request/reply with a timeout in ms (nats.js's answers and errors; see {@link MuxedRequests}). */
  request(subject: string, payload: string | Uint8Array, timeout: number, h?: MsgHdrs): Promise<Msg> {
    return this.requests.request(subject, payload, timeout, h);
  }

  /**
   * Serves a subject in a queue group: replicas in the same group share the messages. The handler's
   * errors are logged, never thrown into the connection.
   */
  serve(subject: string, queue: string, handler: (msg: Msg) => void | Promise<void>): Subscription {
    return this.nc.subscribe(subject, {
      queue,
      callback: (err, msg) => {
        if (err !== null) {
          this.logger.error({ err, subject }, "subscription error");
          return;
        }
        try {
          const pending = handler(msg);
          if (pending instanceof Promise)
            pending.catch((e: unknown) => this.logger.error({ err: e, subject }, "handler failed"));
        } catch (e) {
          this.logger.error({ err: e, subject }, "handler failed");
        }
      },
    });
  }

  /**
   * Creates or updates a durable pull consumer (explicit ack) and returns its info. Durable means it
   * survives restarts of both sides and resumes from its ack floor.
   */
  async ensureConsumer(
    stream: string,
    durable: string,
    config: Partial<ConsumerConfig> & { filter_subject: string },
  ): Promise<ConsumerInfo> {
    const wanted: Partial<ConsumerConfig> = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ...config,
    };
    try {
      await this.jsm.consumers.info(stream, durable);
      return await this.jsm.consumers.update(stream, durable, wanted);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return this.jsm.consumers.add(stream, wanted);
    }
  }

  /** A handle to a durable consumer created with {@link ensureConsumer}. */
  consumer(stream: string, durable: string) {
    return this.js.consumers.get(stream, durable);
  }

  /** Opens a KV bucket created by `ensureTopology` (cached per bucket). */
  kv(spec: Pick<KvSpec, "bucket">): Promise<KV> {
    let kv = this.kvs.get(spec.bucket);
    if (kv === undefined) {
      kv = this.kvm.open(spec.bucket);
      this.kvs.set(spec.bucket, kv);
    }
    return kv;
  }

  /** Opens an object store created by `ensureTopology` (cached per bucket). */
  objectStore(spec: { bucket: string }): Promise<ObjectStore> {
    let os = this.objs.get(spec.bucket);
    if (os === undefined) {
      os = this.objm.open(spec.bucket);
      this.objs.set(spec.bucket, os);
    }
    return os;
  }

  /** Stops intake, lets in-flight messages and replies finish, then closes. */
  async drain(): Promise<void> {
    if (this.nc.isClosed()) return;
    try {
      await this.nc.drain();
    } catch (err) {
      this.logger.warn({ err }, "drain failed; closing");
      await this.nc.close();
    }
    this.logger.info("bus drained");
  }
}

/**
 * Splits `nats://user:password@host:port[,…]` into server URLs without credentials and the user and
 * password of the first URL that carries them (nats.js does not read credentials from a URL, while
 * the nats CLI and the Go client do; deployments pass one NATS_URL per agent this way).
 */
export function splitCredentials(url: string): { servers: string[]; user?: string; pass?: string } {
  let user: string | undefined;
  let pass: string | undefined;
  const servers = url
    .split(",")
    .map((s) => s.trim())
    .map((s) => {
      const m = /^([a-z]+:\/\/)([^@/]*)@(.*)$/i.exec(s);
      if (m === null) return s;
      const [, scheme, info, rest] = m as unknown as [string, string, string, string];
      if (user === undefined) {
        const colon = info.indexOf(":");
        user = decodeURIComponent(colon < 0 ? info : info.slice(0, colon));
        pass = colon < 0 ? undefined : decodeURIComponent(info.slice(colon + 1));
      }
      return `${scheme}${rest}`;
    });
  return { servers, ...(user !== undefined ? { user } : {}), ...(pass !== undefined ? { pass } : {}) };
}

/** True for JetStream's "stream/consumer not found" answers. */
export function isNotFound(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  const apiCode = (err as { apiError?: () => { err_code?: number } }).apiError?.()?.err_code;
  return code === 404 || apiCode === 10059 || apiCode === 10014 || /not found/i.test(err.message);
}

/** The headers every event carries (its type, source, correlation and causation ids). */
function eventHeaders(event: EventEnvelope): MsgHdrs {
  const h = natsHeaders();
  h.set(headers.eventType, event.type);
  h.set(headers.source, event.source);
  h.set(headers.correlationId, event.correlationid);
  if (event.causationid !== undefined) h.set(headers.causationId, event.causationid);
  return h;
}

/**
 * The NATS bus behind core's bus port. A function's tools are handed the port; those that follow
 * streams or open object stores need the adapter's whole surface and ask for it here, so a process
 * that ran them on another bus adapter gets this error instead of a missing method.
 */
export function natsBus(bus: BusPort): Bus {
  if (bus instanceof Bus) return bus;
  throw new Error("this tool needs the NATS bus (adapters/nats); the process runs another bus adapter");
}
