import type { OrderState } from "./domain/trading.ts";

/**
 * The one module that names every NATS subject, JetStream stream, consumer, KV bucket and object
 * store. No other file spells a subject: they call these functions.
 *
 * The hierarchy is built for nats-server 2.9, where a consumer has a single filter subject, so every
 * consumer's input is one wildcard:
 *
 *   market.<venue>.<kind>.<symbol>         MARKET    candles, tickers, books, trades       (inference: market.*.candle.>)
 *   events.trade.order.<state>             EVENTS    the order lifecycle, emitted by exchange
 *   events.trade.fill                      EVENTS    fills, emitted by exchange
 *   events.trade.position                  EVENTS    position changes, emitted by exchange
 *   events.trade.control.<kind>            EVENTS    limit changes and the kill switch, emitted by risk;
 *                                                    strategy changes (`control.strategy`), emitted by strategy
 *       └─ compliance and risk consume events.trade.> : everything that governs trading activity
 *   events.signal.<symbol>                 EVENTS    model signals, emitted by inference
 *   events.<agent>.<kind>                  EVENTS    everything else an agent emits (risk.breach, …)
 *   cmd.<function>.<command>               COMMANDS  work-queue requests to one function (cmd.backtesting.>)
 *   audit.<agent>.<kind>                   AUDIT     immutable compliance records (no delete, no purge)
 *   dlq.<function>                         DLQ       dead letters of one function
 *   tools.<agent>                          core NATS tool calls (request/reply, queue group = agent)
 */

/** Tokens of the symbols seen (a service trades a few, on every event): made once each, at most 1,024 kept. */
const tokens = new Map<string, string>();

/** Turns a symbol such as `BTC/USDT` or `BTC/USDT:USDT` into one subject token (`BTC-USDT`, `BTC-USDT_USDT`). */
export function symbolToken(symbol: string): string {
  const known = tokens.get(symbol);
  if (known !== undefined) return known;
  const token = symbol.replaceAll("/", "-").replaceAll(":", "_");
  assertToken(token, "symbol");
  if (tokens.size >= 1_024) tokens.clear();
  tokens.set(symbol, token);
  return token;
}

function assertToken(token: string, what: string): void {
  if (token.length === 0 || /[\s.*>]/.test(token)) {
    throw new Error(`invalid ${what} for a subject token: ${JSON.stringify(token)}`);
  }
}

export const MarketKind = ["candle", "ticker", "book", "trade"] as const;
export type MarketKind = (typeof MarketKind)[number];

export const subjects = {
  market: {
    all: "market.>",
    of: (venue: string, kind: MarketKind, symbol: string) => {
      assertToken(venue, "venue");
      return `market.${venue}.${kind}.${symbolToken(symbol)}`;
    },
    allOfKind: (kind: MarketKind) => `market.*.${kind}.>`,
  },
  trade: {
    all: "events.trade.>",
    order: (state: OrderState) => `events.trade.order.${state}`,
    fill: "events.trade.fill",
    position: "events.trade.position",
    control: (kind: "limits" | "kill_switch" | "strategy") => `events.trade.control.${kind}`,
  },
  events: {
    all: "events.>",
    signal: (symbol: string) => `events.signal.${symbolToken(symbol)}`,
    signals: "events.signal.>",
    /** An agent's own event, e.g. `of("risk", "breach")` → `events.risk.breach`. */
    of: (agent: string, kind: string) => {
      assertToken(agent, "agent");
      assertToken(kind, "event kind");
      return `events.${agent}.${kind}`;
    },
    ofAgent: (agent: string) => `events.${agent}.>`,
  },
  commands: {
    all: "cmd.>",
    of: (fn: string, command: string) => {
      assertToken(fn, "function");
      assertToken(command, "command");
      return `cmd.${fn}.${command}`;
    },
    forFunction: (fn: string) => `cmd.${fn}.>`,
  },
  audit: {
    all: "audit.>",
    of: (agent: string, kind: string) => {
      assertToken(agent, "agent");
      assertToken(kind, "record kind");
      return `audit.${agent}.${kind}`;
    },
    /** Every record of one agent, e.g. `audit.compliance.>`. */
    ofAgent: (agent: string) => {
      assertToken(agent, "agent");
      return `audit.${agent}.>`;
    },
  },
  dlq: {
    all: "dlq.>",
    of: (fn: string) => {
      assertToken(fn, "function");
      return `dlq.${fn}`;
    },
  },
  tools: {
    all: "tools.>",
    of: (agent: string) => {
      assertToken(agent, "agent");
      return `tools.${agent}`;
    },
  },
} as const;

/**
 * NATS and JetStream system subjects, named for the nats-server permissions (infra/nats) only:
 * request inboxes, the JetStream API and acks, and the subjects KV buckets and object stores are
 * written on. Application code reaches these through the @nats-io clients, never by name.
 */
export const systemSubjects = {
  /** Every subject (the admin's permission). */
  everything: ">",
  inbox: "_INBOX.>",
  /** The whole JetStream API, or one operation of it (`jsApi("STREAM.DELETE")` → `$JS.API.STREAM.DELETE.>`). */
  jsApi: (operation?: string) => (operation === undefined ? "$JS.API.>" : `$JS.API.${operation}.>`),
  /** Acks of one stream's consumers, or of every stream. */
  jsAck: (stream?: string) => (stream === undefined ? "$JS.ACK.>" : `$JS.ACK.${stream}.>`),
  /** Writes to a KV bucket, optionally under one key prefix (`kv("bot4_agents", "risk")` → `$KV.bot4_agents.risk.>`). */
  kv: (bucket: string, prefix?: string) => {
    assertToken(bucket, "bucket");
    if (prefix === undefined) return `$KV.${bucket}.>`;
    assertToken(prefix, "key prefix");
    return `$KV.${bucket}.${prefix}.>`;
  },
  /** One exact KV key (`kvKey("bot4_function_state", "compliance")`). */
  kvKey: (bucket: string, key: string) => {
    assertToken(bucket, "bucket");
    return `$KV.${bucket}.${key}`;
  },
  /** Writes to an object store (chunks and metadata). */
  obj: (bucket: string) => {
    assertToken(bucket, "bucket");
    return `$O.${bucket}.>`;
  },
} as const;

const SECOND_NS = 1_000_000_000;
const HOUR_NS = 3600 * SECOND_NS;
const DAY_NS = 24 * HOUR_NS;

/** The settings a stream is declared with; `ensureTopology` compares exactly these against the server. */
export interface StreamSpec {
  name: string;
  description: string;
  subjects: string[];
  retention: "limits" | "workqueue";
  storage: "file" | "memory";
  /** Nanoseconds; 0 keeps messages forever. */
  max_age: number;
  /** Nanoseconds within which a repeated Nats-Msg-Id is dropped. */
  duplicate_window: number;
  deny_delete: boolean;
  deny_purge: boolean;
  num_replicas: number;
}

const stream = (
  spec: Omit<StreamSpec, "storage" | "num_replicas" | "deny_delete" | "deny_purge"> & Partial<StreamSpec>,
) =>
  ({ storage: "file", num_replicas: 1, deny_delete: false, deny_purge: false, ...spec }) satisfies StreamSpec;

export const streams = {
  MARKET: stream({
    name: "MARKET",
    description: "Market data: candles, tickers, books and trades (short retention)",
    subjects: [subjects.market.all],
    retention: "limits",
    max_age: HOUR_NS,
    duplicate_window: 30 * SECOND_NS,
  }),
  EVENTS: stream({
    name: "EVENTS",
    description: "Domain events: orders, fills, positions, signals, verdicts",
    subjects: [subjects.events.all],
    retention: "limits",
    max_age: 7 * DAY_NS,
    duplicate_window: 2 * 60 * SECOND_NS,
  }),
  COMMANDS: stream({
    name: "COMMANDS",
    description: "Work-queue requests to functions",
    subjects: [subjects.commands.all],
    retention: "workqueue",
    max_age: DAY_NS,
    duplicate_window: 2 * 60 * SECOND_NS,
  }),
  AUDIT: stream({
    name: "AUDIT",
    description: "Immutable compliance records",
    subjects: [subjects.audit.all],
    retention: "limits",
    max_age: 0,
    duplicate_window: 2 * 60 * SECOND_NS,
    deny_delete: true,
    deny_purge: true,
  }),
  DLQ: stream({
    name: "DLQ",
    description: "Dead letters: messages a function could not process",
    subjects: [subjects.dlq.all],
    retention: "limits",
    max_age: 30 * DAY_NS,
    duplicate_window: 2 * 60 * SECOND_NS,
  }),
} as const satisfies Record<string, StreamSpec>;
export type StreamName = keyof typeof streams;

/** The stream that stores a subject, or undefined for core-NATS subjects. */
export function streamOf(subject: string): StreamSpec | undefined {
  const head = subject.split(".")[0];
  return Object.values(streams).find((s) => s.subjects.some((p) => p.split(".")[0] === head));
}

export interface KvSpec {
  bucket: string;
  description: string;
  history: number;
  /** Milliseconds after which a key's last value expires; 0 keeps it. */
  ttl: number;
}

export const kvBuckets = {
  /** Agent instances heartbeat here; an instance whose heartbeat stops disappears after `ttl`. */
  agents: {
    bucket: "bot4_agents",
    description: "Registry of running agent instances",
    history: 1,
    ttl: 6_000,
  },
  positions: {
    bucket: "bot4_positions",
    description: "Current positions per account and symbol",
    history: 5,
    ttl: 0,
  },
  risk: { bucket: "bot4_risk", description: "Risk limits and the live risk snapshot", history: 10, ttl: 0 },
  models: {
    bucket: "bot4_models",
    description: "Model registry: versions, features, metrics, hashes",
    history: 10,
    ttl: 0,
  },
  /** Strategy instances of the strategy agent: config, status and kernel book (one key per instance, CAS-updated). */
  strategies: {
    bucket: "bot4_strategies",
    description: "Strategy instances: config, status and book",
    history: 5,
    ttl: 0,
  },
  /**
   * The exchange's recovery snapshot: its trade history folded up to an EVENTS sequence, gzipped JSON
   * in chunks under 1 MB (core/exchange-state/snapshot.ts, keys {@link exchangeStateKeys}); written by the
   * exchange, read by the exchange and by risk at start.
   */
  exchangeState: {
    bucket: "bot4_exchange_state",
    description: "Exchange recovery snapshot: trade history up to an EVENTS sequence",
    history: 1,
    ttl: 0,
  },
  /** State an event-triggered function carries across batches (one key per function, CAS-updated). */
  functionState: {
    bucket: "bot4_function_state",
    description: "State of event-triggered functions across batches",
    history: 1,
    ttl: 0,
  },
} as const satisfies Record<string, KvSpec>;

/**
 * Keys of {@link kvBuckets.exchangeState}: the snapshot's metadata (which generation of chunks is
 * current, the sequence it covers, its digest), and chunk `n` of generation `gen`.
 */
export const exchangeStateKeys = {
  meta: "snapshot.meta",
  chunk: (gen: string, n: number) => {
    assertToken(gen, "snapshot generation");
    return `snapshot.${gen}.${n}`;
  },
} as const;

/** How often an instance refreshes its registry entry (well inside the bucket's ttl). */
export const HEARTBEAT_INTERVAL_MS = 2_000;

/** The registry key of one agent instance in {@link kvBuckets.agents}: `<agent>.<instanceId>`. */
export function agentInstanceKey(agent: string, instanceId: string): string {
  assertToken(agent, "agent");
  assertToken(instanceId, "instance id");
  return `${agent}.${instanceId}`;
}

/** The registry keys of every instance of one agent, or of all agents. */
export const agentInstanceKeys = (agent?: string) => {
  if (agent === undefined) return ">";
  assertToken(agent, "agent");
  return `${agent}.*`;
};

/**
 * Keys of {@link kvBuckets.risk}: the limits in force, and one live risk snapshot per account
 * (core/risk/snapshot.ts), which the exchange reads for its in-process pre-trade check.
 */
export const riskKeys = {
  limits: "limits",
  snapshot: (account = "default") => {
    assertToken(account, "account");
    return `snapshot.${account}`;
  },
  snapshots: "snapshot.*",
} as const;

/**
 * Keys of {@link kvBuckets.positions}: the exchange's latest net position per account, venue and
 * symbol (`<account>.<venue>.<symbol token>`, e.g. `default.paper.BTC-USDT`).
 */
export const positionKeys = {
  of: (account: string, venue: string, symbol: string) => {
    assertToken(account, "account");
    assertToken(venue, "venue");
    return `${account}.${venue}.${symbolToken(symbol)}`;
  },
  ofAccount: (account: string) => {
    assertToken(account, "account");
    return `${account}.>`;
  },
} as const;

/** Keys of {@link kvBuckets.strategies}: one per strategy instance id (`StrategyId`, a subject-safe token). */
export const strategyKeys = {
  of: (id: string) => {
    assertToken(id, "strategy id");
    return id;
  },
  all: ">",
} as const;

/**
 * Keys of {@link kvBuckets.models} and names in {@link objectStores.models}: one metadata entry per
 * model version, the pointer to the deployed version, and the artifact object of each version.
 */
export const modelKeys = {
  version: (version: string) => {
    assertToken(version, "model version");
    return `model.${version}`;
  },
  versions: "model.*",
  deployed: "deployed",
  artifact: (version: string) => {
    assertToken(version, "model version");
    return `${version}.onnx`;
  },
} as const;

export const objectStores = {
  models: { bucket: "bot4_model_artifacts", description: "Model artifacts (ONNX)" },
  results: { bucket: "bot4_results", description: "Full results of long runs, e.g. backtests" },
} as const;

/** The durable consumer name of a function for one of its input subjects. */
export function consumerName(fn: string, index = 0): string {
  assertToken(fn, "function");
  return index === 0 ? `fn_${fn}` : `fn_${fn}_${index}`;
}

/** The key of a function's state in {@link kvBuckets.functionState}. */
export function functionStateKey(fn: string): string {
  assertToken(fn, "function");
  return fn;
}

/** The queue group under which every replica of an agent serves its tools. */
export const queueGroup = (agent: string) => agent;

/** Message headers Bot4 sets; correlation ids cross process boundaries here. */
export const headers = {
  requestId: "Bot4-Request-Id",
  correlationId: "Bot4-Correlation-Id",
  causationId: "Bot4-Causation-Id",
  eventType: "Bot4-Event-Type",
  source: "Bot4-Source",
  apiKey: "Bot4-Client",
} as const;
