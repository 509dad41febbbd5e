import { createHmac } from "node:crypto";
import { AckPolicy, DeliverPolicy, type JsMsg } from "@nats-io/jetstream";
import type { Bus } from "../../adapters/nats/bus.ts";
import type { Config } from "../../core/config.ts";
import { EventEnvelope } from "../../core/protocol/envelope.ts";
import { streams, subjects } from "../../core/subjects.ts";
import type { Logger } from "../../core/telemetry/log.ts";

/** What a webhook can be sent for (BOT4_WEBHOOK_EVENTS). */
export const WebhookKinds = ["fill", "strategy", "alert", "kill_switch"] as const;
export type WebhookKind = (typeof WebhookKinds)[number];

/**
 * The kind of notification an event is, or undefined when it is none: fills, the kill switch, a
 * strategy starting or stopping, and alerts (InfraEngineer's alerts and RiskQuant's limit breaches).
 */
export function webhookKind(subject: string): WebhookKind | undefined {
  if (subject === subjects.trade.fill) return "fill";
  if (subject === subjects.trade.control("kill_switch")) return "kill_switch";
  const [root, agent, kind = ""] = subject.split(".");
  if (root !== "events") return undefined;
  if (agent === "strategy" && /start|stop/.test(kind)) return "strategy";
  if (agent === "infra" && /alert/.test(kind)) return "alert";
  if (agent === "risk" && kind === "breach") return "alert";
  return undefined;
}

/** Header names of a delivery. */
export const webhookHeaders = {
  signature: "x-bot4-signature",
  timestamp: "x-bot4-timestamp",
  delivery: "x-bot4-delivery",
  kind: "x-bot4-event",
} as const;

/**
 * `sha256=<hex>` of HMAC-SHA256 over `<timestamp>.<body>` with the shared secret. A receiver
 * recomputes it from the raw body and the timestamp header, compares in constant time, and refuses
 * timestamps far from its clock (replays).
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** Milliseconds before retry `attempt` (1-based): base × 2^(attempt−1), at most 30 s. */
export const retryDelay = (attempt: number, baseMs: number) => Math.min(30_000, baseMs * 2 ** (attempt - 1));

/** Whether an HTTP status is worth another attempt (server trouble, throttling, request timeout). */
export const retryable = (status: number) => status >= 500 || status === 429 || status === 408;

export interface WebhookOptions {
  urls: readonly string[];
  secret: string;
  kinds: readonly WebhookKind[];
  /** Attempts after the first. */
  retries: number;
  backoffMs: number;
  timeoutMs: number;
}

export function webhookOptions(config: Config): WebhookOptions | undefined {
  if (config.BOT4_WEBHOOK_URLS.length === 0) return undefined;
  if (config.BOT4_WEBHOOK_SECRET === undefined)
    throw new Error("BOT4_WEBHOOK_SECRET is required when BOT4_WEBHOOK_URLS is set (deliveries are signed)");
  return {
    urls: config.BOT4_WEBHOOK_URLS,
    secret: config.BOT4_WEBHOOK_SECRET,
    kinds: config.BOT4_WEBHOOK_EVENTS,
    retries: config.BOT4_WEBHOOK_RETRIES,
    backoffMs: config.BOT4_WEBHOOK_BACKOFF_MS,
    timeoutMs: config.BOT4_WEBHOOK_TIMEOUT_MS,
  };
}

export interface DeliveryOutcome {
  url: string;
  ok: boolean;
  attempts: number;
  status?: number;
  error?: string;
}

/** One POST with retries; `onRetry` runs before each wait (the caller keeps its message alive). */
export async function deliver(
  url: string,
  body: string,
  headers: Record<string, string>,
  o: Pick<WebhookOptions, "secret" | "retries" | "backoffMs" | "timeoutMs">,
  onRetry: () => void = () => {},
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<DeliveryOutcome> {
  let last: DeliveryOutcome = { url, ok: false, attempts: 0 };
  for (let attempt = 1; attempt <= o.retries + 1; attempt++) {
    const timestamp = Math.floor(Date.now() / 1000);
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: {
          ...headers,
          "content-type": "application/json",
          "user-agent": "bot4-webhooks",
          [webhookHeaders.timestamp]: String(timestamp),
          [webhookHeaders.signature]: signWebhook(o.secret, timestamp, body),
        },
        body,
        signal: AbortSignal.timeout(o.timeoutMs),
        redirect: "error",
      });
      await res.body?.cancel();
      last = { url, ok: res.ok, attempts: attempt, status: res.status };
      if (res.ok || !retryable(res.status)) return last;
    } catch (err) {
      last = { url, ok: false, attempts: attempt, error: err instanceof Error ? err.message : String(err) };
    }
    if (attempt <= o.retries) {
      onRetry();
      await sleep(retryDelay(attempt, o.backoffMs));
    }
  }
  return last;
}

/** The JSON body of a delivery: the notification's kind and the bus event as published. */
export function webhookBody(kind: WebhookKind, event: EventEnvelope): string {
  return JSON.stringify({
    kind,
    id: event.id,
    type: event.type,
    source: event.source,
    subject: event.subject,
    time: event.time,
    data: event.data,
  });
}

export interface Notifier {
  readonly delivered: number;
  readonly failed: number;
  stop(): Promise<void>;
}

/** The durable consumer of the notifier; replicas of the coordinator share it, so each event goes out once. */
export const WEBHOOK_CONSUMER = "coordinator_webhooks";

/**
 * Posts webhooks for bus events. It reads EVENTS through a durable consumer that starts at the
 * events published after it was first created, acks an event once every URL has answered (or its
 * retries ran out: the failure is logged), so a restart resumes where it stopped and never floods a
 * receiver with history. `x-bot4-delivery` is the event id, the same on every retry, for receivers
 * that deduplicate.
 */
export async function startNotifier(bus: Bus, logger: Logger, o: WebhookOptions): Promise<Notifier> {
  const retryWindowMs =
    (o.retries + 1) * o.timeoutMs +
    Array.from({ length: o.retries }, (_, i) => retryDelay(i + 1, o.backoffMs)).reduce((a, b) => a + b, 0);
  await bus.ensureConsumer(streams.EVENTS.name, WEBHOOK_CONSUMER, {
    filter_subject: subjects.events.all,
    deliver_policy: DeliverPolicy.New,
    ack_policy: AckPolicy.Explicit,
    ack_wait: Math.min(retryWindowMs + 30_000, 3_600_000) * 1_000_000,
    max_ack_pending: 256,
  });
  const consumer = await bus.consumer(streams.EVENTS.name, WEBHOOK_CONSUMER);
  const messages = await consumer.consume();
  const inFlight = new Set<Promise<void>>();
  let delivered = 0;
  let failed = 0;

  const handle = async (m: JsMsg) => {
    const kind = webhookKind(m.subject);
    if (kind === undefined || !o.kinds.includes(kind)) {
      m.ack();
      return;
    }
    const parsed = EventEnvelope.safeParse(m.json());
    if (!parsed.success) {
      logger.warn({ subject: m.subject, seq: m.seq }, "webhook: malformed event skipped");
      m.ack();
      return;
    }
    const event = parsed.data;
    const body = webhookBody(kind, event);
    const headers = { [webhookHeaders.delivery]: event.id, [webhookHeaders.kind]: kind };
    const outcomes = await Promise.all(
      o.urls.map((url) => deliver(url, body, headers, o, () => m.working())),
    );
    for (const r of outcomes) {
      if (r.ok) delivered += 1;
      else {
        failed += 1;
        logger.error(
          { url: r.url, kind, id: event.id, attempts: r.attempts, status: r.status, error: r.error },
          "webhook not delivered",
        );
      }
    }
    m.ack();
  };

  const loop = (async () => {
    for await (const m of messages) {
      const work = handle(m).catch((err: unknown) => logger.error({ err }, "webhook handler failed"));
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
    }
  })().catch((err: unknown) => logger.error({ err }, "webhook consumer stopped"));
  logger.info({ urls: o.urls.length, kinds: o.kinds }, "webhooks on");

  return {
    get delivered() {
      return delivered;
    },
    get failed() {
      return failed;
    },
    /** Stops intake; deliveries still retrying after 2 s are left unacked and redelivered later. */
    async stop() {
      await messages.close();
      await loop;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise((r) => {
        timer = setTimeout(r, 2_000);
      });
      await Promise.race([Promise.allSettled([...inFlight]), late]);
      clearTimeout(timer);
    },
  };
}
