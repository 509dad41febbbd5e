import { z } from "zod";
import { type AgentName, manifest } from "../agents/manifest.ts";
import { Candle, OrderBook, Signal, Ticker, UnifiedSymbol, marketEventType } from "../domain/market.ts";
import { Fill, Order, OrderState, Position, StrategyId, tradeEventType } from "../domain/trading.ts";
import { DEAD_LETTER_TYPE, DeadLetter } from "../functions/dead-letter.ts";
import {
  AnalysisCompleted,
  AnalysisFailed,
  ArchitectCommand,
  GateCommand,
  GateEvaluated,
} from "./data/analysis.ts";
import { BacktestCommand, BacktestCompleted, BacktestFailed, BacktestProgress } from "./data/backtesting.ts";
import { ControlRecord, Decision, ViolationEvent } from "./data/compliance.ts";
import { AlertFiring, AlertResolved, Tick } from "./data/infra.ts";
import { IntegrationFailed, IntegrationValidated, ReportCommand } from "./data/integration.ts";
import { EventEnvelope, makeEvent } from "../protocol/envelope.ts";
import { RiskLimits } from "../risk/snapshot.ts";
import { type StreamName, subjects } from "../subjects.ts";

/**
 * The event catalogue: every event type the services publish on the bus, once, with its subject, the
 * zod schema of its `data`, its version, its publisher and (derived from the manifest) its consumers.
 * Publishers build events from an entry ({@link newEvent}, `publish` in adapters/nats/publish.ts), so the
 * type, the subject and the data's type cannot disagree; consumers parse with {@link envelopeOf} or
 * {@link inputOf}; the NATS permissions and the table in docs/architecture.md derive from it.
 *
 * The names of the trade and market types are spelled once in core/domain (`tradeEventType`,
 * `marketEventType`) and referenced here.
 *
 * Message ids (the JetStream Nats-Msg-Id the streams deduplicate on, also the envelope id) have one
 * style, built by {@link messageId} only: `<type>:<part>:<part>…`, e.g.
 * `fill.executed:<fill id>` or `signal.generated:<model>:<venue>:<symbol>:<timeframe>:<bar ts>`.
 */
export interface EventSpec<T = unknown> {
  /** Dotted lowercase, the envelope's `type`. */
  readonly type: string;
  /** Bumped when the data changes incompatibly. */
  readonly version: number;
  readonly stream: StreamName;
  /** The subject, or its pattern (`*` for a token the data fills in). */
  readonly pattern: string;
  /** The subject one event is published on (a method: an entry of `T` is an entry of unknown data). */
  subject(data: T): string;
  readonly schema: z.ZodType<T>;
  /** The schema's name in the code (the docs' table). */
  readonly schemaName: string;
  readonly publisher: AgentName;
}

function spec<T>(s: Omit<EventSpec<T>, "subject"> & { subject?: (data: T) => string }): EventSpec<T> {
  const fixed = s.pattern;
  return { ...s, subject: s.subject ?? (() => fixed) };
}

/** A market event on MARKET (`market.<venue>.<kind>.<symbol>`), published by the exchange. */
function marketSpec<T extends { venue: string; symbol: string }>(
  kind: "candle" | "ticker" | "book",
  schema: z.ZodType<T>,
  schemaName: string,
): EventSpec<T> {
  return spec<T>({
    type: marketEventType[kind],
    version: 1,
    stream: "MARKET",
    pattern: `market.*.${kind}.*`,
    subject: (d) => subjects.market.of(d.venue, kind, d.symbol),
    schema,
    schemaName,
    publisher: "exchange",
  });
}

/** The `data` of limits.changed and kill_switch.changed (a change of the risk limits in KV). */
export const LimitsChange = z.object({
  /** null when there were no limits before (the first start). */
  previous: RiskLimits.nullable(),
  limits: RiskLimits,
  changed: z.array(z.string()),
  reason: z.string().nullable(),
  revision: z.number().int().positive(),
  /** How the change came: a tool call's transport, or `environment` at start. */
  transport: z.string().min(1),
});
export type LimitsChange = z.infer<typeof LimitsChange>;

/** The `data` of strategy.changed: the instance after the action (extra fields per action kept). */
export const StrategyChange = z.looseObject({
  action: z.string().min(1),
  id: StrategyId,
  status: z.string().min(1),
  config: z.record(z.string(), z.unknown()),
  revision: z.number().int().nonnegative(),
  transport: z.string().min(1),
});
export type StrategyChange = z.infer<typeof StrategyChange>;

/** The `data` of risk.breach: a limit of one account newly breached. */
export const RiskBreachEvent = z.object({
  account: z.string().min(1),
  check: z.string().min(1),
  value: z.number(),
  limit: z.number(),
  message: z.string(),
  limits: RiskLimits,
  at: z.number().int().nonnegative(),
});
export type RiskBreachEvent = z.infer<typeof RiskBreachEvent>;

/** The `data` of stream.down: a market stream that gave up reconnecting. */
export const StreamDown = z.object({
  venue: z.string().min(1),
  symbol: UnifiedSymbol,
  kind: z.enum(["candle", "ticker", "book", "trade"]),
  attempts: z.number().int().nonnegative(),
  lastError: z.string().optional(),
});
export type StreamDown = z.infer<typeof StreamDown>;

/** Where an agent's own subjects lie in each stream it writes (`<root>.<agent>.<kind>`). */
const ownSubject = {
  EVENTS: subjects.events.of,
  COMMANDS: subjects.commands.of,
  AUDIT: subjects.audit.of,
} as const;

/**
 * An entry on a fixed subject of the publisher's own: an event (`events.<agent>.<kind>`), a command a
 * function's tools or background work queue for its own handler (`cmd.<function>.<kind>`), or an
 * AUDIT record (`audit.<agent>.<kind>`, where the trigger publishes a function's records).
 */
const own = <T>(
  [stream, subjectAgent, kind]: [keyof typeof ownSubject, AgentName, string],
  type: string,
  schema: z.ZodType<T>,
  schemaName: string,
  publisher: AgentName = subjectAgent,
) =>
  spec<T>({
    type,
    version: 1,
    stream,
    pattern: ownSubject[stream](subjectAgent, kind),
    schema,
    schemaName,
    publisher,
  });

/**
 * A command clients queue for a function (`cmd.<function>.<kind>`: CI or an operator asking for an
 * analysis or a gate), not the function itself: its publisher is the coordinator, the one agent whose
 * NATS user may publish on `cmd.>` for them.
 */
const clientCommand = <T>(
  fn: AgentName,
  kind: string,
  type: string,
  schema: z.ZodType<T>,
  schemaName: string,
) => own(["COMMANDS", fn, kind], type, schema, schemaName, "coordinator");

const orderEvent = (state: OrderState) =>
  spec<Order>({
    type: tradeEventType.order(state),
    version: 1,
    stream: "EVENTS",
    pattern: subjects.trade.order(state),
    schema: Order,
    schemaName: "Order",
    publisher: "exchange",
  });

const controlType = {
  limits: tradeEventType.limits,
  kill_switch: tradeEventType.killSwitch,
  strategy: tradeEventType.strategy,
};
const control = <T>(
  kind: keyof typeof controlType,
  publisher: AgentName,
  schema: z.ZodType<T>,
  schemaName: string,
) =>
  spec<T>({
    type: controlType[kind],
    version: 1,
    stream: "EVENTS",
    pattern: subjects.trade.control(kind),
    schema,
    schemaName,
    publisher,
  });

export const events = {
  order: Object.fromEntries(OrderState.map((s) => [s, orderEvent(s)])) as Record<
    OrderState,
    EventSpec<Order>
  >,
  fill: spec<Fill>({
    type: tradeEventType.fill,
    version: 1,
    stream: "EVENTS",
    pattern: subjects.trade.fill,
    schema: Fill,
    schemaName: "Fill",
    publisher: "exchange",
  }),
  position: spec<Position>({
    type: tradeEventType.position,
    version: 1,
    stream: "EVENTS",
    pattern: subjects.trade.position,
    schema: Position,
    schemaName: "Position",
    publisher: "exchange",
  }),
  limits: control("limits", "risk", LimitsChange, "LimitsChange"),
  killSwitch: control("kill_switch", "risk", LimitsChange, "LimitsChange"),
  strategy: control("strategy", "strategy", StrategyChange, "StrategyChange"),
  signal: spec<Signal>({
    type: marketEventType.signal,
    version: 1,
    stream: "EVENTS",
    pattern: subjects.events.signals.replace(">", "*"),
    subject: (s) => subjects.events.signal(s.symbol),
    schema: Signal,
    schemaName: "Signal",
    publisher: "inference",
  }),
  riskBreach: spec<RiskBreachEvent>({
    type: "risk.breach",
    version: 1,
    stream: "EVENTS",
    pattern: subjects.events.of("risk", "breach"),
    schema: RiskBreachEvent,
    schemaName: "RiskBreachEvent",
    publisher: "risk",
  }),
  streamDown: spec<StreamDown>({
    type: "stream.down",
    version: 1,
    stream: "EVENTS",
    pattern: subjects.events.of("exchange", "stream_down"),
    schema: StreamDown,
    schemaName: "StreamDown",
    publisher: "exchange",
  }),
  candle: marketSpec("candle", Candle, "Candle"),
  ticker: marketSpec("ticker", Ticker, "Ticker"),
  book: marketSpec("book", OrderBook, "OrderBook"),
  backtesting: {
    requested: own(
      ["COMMANDS", "backtesting", "run"],
      "backtest.requested",
      BacktestCommand,
      "BacktestCommand",
    ),
    progress: own(
      ["EVENTS", "backtesting", "progress"],
      "backtest.progress",
      BacktestProgress,
      "BacktestProgress",
    ),
    completed: own(
      ["EVENTS", "backtesting", "completed"],
      "backtest.completed",
      BacktestCompleted,
      "BacktestCompleted",
    ),
    failed: own(["EVENTS", "backtesting", "failed"], "backtest.failed", BacktestFailed, "BacktestFailed"),
  },
  architect: {
    requested: clientCommand(
      "architect",
      "analyze",
      "architect.analysis.requested",
      ArchitectCommand,
      "ArchitectCommand",
    ),
    completed: own(
      ["EVENTS", "architect", "completed"],
      "architect.analysis.completed",
      AnalysisCompleted,
      "AnalysisCompleted",
    ),
    failed: own(
      ["EVENTS", "architect", "failed"],
      "architect.analysis.failed",
      AnalysisFailed,
      "AnalysisFailed",
    ),
  },
  quality: {
    requested: clientCommand("quality", "evaluate", "quality.gate.requested", GateCommand, "GateCommand"),
    evaluated: own(["EVENTS", "quality", "gate"], "quality.gate.evaluated", GateEvaluated, "GateEvaluated"),
  },
  compliance: {
    violation: own(
      ["EVENTS", "compliance", "violation"],
      "compliance.violation",
      ViolationEvent,
      "ViolationEvent",
    ),
    decision: own(["AUDIT", "compliance", "decision"], "audit.decision", Decision, "Decision"),
    control: own(["AUDIT", "compliance", "control"], "audit.control", ControlRecord, "ControlRecord"),
  },
  integration: {
    report: own(["COMMANDS", "integration", "report"], "integration.report", ReportCommand, "ReportCommand"),
    validated: own(
      ["EVENTS", "integration", "validated"],
      "integration.validated",
      IntegrationValidated,
      "IntegrationValidated",
    ),
    failed: own(
      ["EVENTS", "integration", "failed"],
      "integration.failed",
      IntegrationFailed,
      "IntegrationFailed",
    ),
  },
  infra: {
    tick: own(["COMMANDS", "infra", "tick"], "infra.tick", Tick, "Tick"),
    firing: own(["EVENTS", "infra", "alert"], "alert.firing", AlertFiring, "AlertFiring"),
    resolved: own(["EVENTS", "infra", "alert"], "alert.resolved", AlertResolved, "AlertResolved"),
  },
} as const;

/** Dead letters are published by the trigger for the function whose input it was (`dlq.<function>`). */
export const deadLetter = {
  type: DEAD_LETTER_TYPE,
  version: 1,
  stream: "DLQ",
  pattern: "dlq.*",
  schema: DeadLetter,
  schemaName: "DeadLetter",
} as const;

/** Every entry of the catalogue, in table order. */
export const catalogue: readonly EventSpec[] = [
  ...Object.values(events.order),
  events.fill,
  events.position,
  events.limits,
  events.killSwitch,
  events.strategy,
  events.signal,
  events.riskBreach,
  events.streamDown,
  events.candle,
  events.ticker,
  events.book,
  ...Object.values(events.backtesting),
  ...Object.values(events.architect),
  ...Object.values(events.quality),
  ...Object.values(events.compliance),
  ...Object.values(events.integration),
  ...Object.values(events.infra),
];

/** The catalogue entries an agent publishes. */
export const publishedBy = (agent: AgentName): EventSpec[] => catalogue.filter((e) => e.publisher === agent);

/** True when a message on a subject matching `pattern` can match the subscription filter `filter`. */
export function filterCovers(filter: string, pattern: string): boolean {
  const f = filter.split(".");
  const p = pattern.split(".");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === ">") return p.length > i;
    if (i >= p.length) return false;
    if (f[i] !== "*" && p[i] !== "*" && f[i] !== p[i]) return false;
  }
  return f.length === p.length;
}

/** The agents whose manifest `consumes` covers an entry's subject. */
export function consumersOf(e: Pick<EventSpec, "pattern">): AgentName[] {
  return manifest.filter((a) => a.consumes.some((c) => filterCovers(c, e.pattern))).map((a) => a.name);
}

/** The catalogue entries an agent consumes (by its manifest `consumes`). */
export const consumedBy = (agent: AgentName): EventSpec[] =>
  catalogue.filter((e) => consumersOf(e).includes(agent));

/** The one builder of message ids: `<type>:<part>:<part>…` (parts are stringified, none empty). */
export function messageId(type: string, ...parts: readonly (string | number)[]): string {
  if (parts.length === 0) throw new Error(`a message id of ${type} needs at least one part`);
  let id = type;
  for (const p of parts) {
    const part = String(p);
    if (part.length === 0) throw new Error(`empty part in a message id of ${type}`);
    id += `:${part}`;
  }
  return id;
}

export interface NewCatalogueEvent<T> {
  data: T;
  source: string;
  /** The parts of the message id after the type (see {@link messageId}). */
  id: readonly (string | number)[];
  correlationid?: string;
  causationid?: string;
  time?: Date | string;
}

/** An envelope of a catalogue entry: its type, its subject for this data, the id from `id`. */
export function newEvent<T>(
  e: EventSpec<T>,
  input: NewCatalogueEvent<T>,
  cause?: Pick<EventEnvelope, "id" | "correlationid">,
): EventEnvelope<T> {
  const { id, data, source, ...rest } = input;
  return makeEvent(
    { ...rest, type: e.type, source, subject: e.subject(data), id: messageId(e.type, ...id), data },
    cause,
  );
}

/** The envelope schema of one entry: its type and its data. */
export function envelopeOf<T>(e: EventSpec<T>) {
  return EventEnvelope.extend({ type: z.literal(e.type), data: e.schema });
}

type Entries = { readonly [kind: string]: readonly Pick<EventSpec, "type" | "schema">[] };
type DataOf<E> = E extends { readonly schema: z.ZodType<infer T> } ? T : never;

/** A message parsed by {@link inputOf}: of one of the kinds (with its data parsed), or of another type. */
export type InputOf<M extends Entries> =
  | { [K in keyof M & string]: EventEnvelope<DataOf<M[K][number]>> & { kind: K } }[keyof M & string]
  | (EventEnvelope<unknown> & { kind: "other" });

/**
 * The input schema of a consumer of several entries, e.g. `inputOf({ fill: [events.fill] })`: an
 * envelope whose `data` must match the schema its `type` names, sorted by kind; a type outside the
 * entries passes as kind `other` with its data unchecked.
 */
export function inputOf<M extends Entries>(entries: M): z.ZodType<InputOf<M>> {
  const byType = new Map<string, [string, z.ZodType]>();
  for (const [kind, list] of Object.entries(entries)) {
    for (const e of list) byType.set(e.type, [kind, e.schema]);
  }
  return EventEnvelope.transform((envelope, ctx) => {
    const hit = byType.get(envelope.type);
    if (hit === undefined) return { ...envelope, kind: "other" } as InputOf<M>;
    const parsed = hit[1].safeParse(envelope.data);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        ctx.addIssue({ code: "custom", path: ["data", ...issue.path.map(String)], message: issue.message });
      }
      return z.NEVER;
    }
    return { ...envelope, kind: hit[0], data: parsed.data } as InputOf<M>;
  });
}
