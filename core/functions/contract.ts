import type { z } from "zod";
import { type FunctionAgent, type FunctionName, functionAgents } from "../agents/manifest.ts";
import { messageId } from "../events/catalogue.ts";
import type { Config } from "../config.ts";
import type { Bus } from "../ports/bus.ts";
import type { EventEnvelope } from "../protocol/envelope.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Registry } from "../telemetry/metrics.ts";
import type { Tool } from "../tools/tool.ts";

/**
 * The function contract: what an event-triggered function (`functions/<name>/function.ts`) declares,
 * and what the trigger hands it and takes back.
 *
 * A function is a pure decision `(batch, context) → effects`. It never publishes: the trigger
 * publishes the returned events and records with deterministic message ids
 * (`<type>:<function>:<stream>:<cause seq>:<index>`, {@link outputId}), writes the new state, and only then acks the batch.
 * That is what lets the same handler run in-process or as an AWS Lambda with no NATS connection on
 * the event path, and what makes a redelivered batch produce no duplicate output.
 *
 * State across batches travels with the invocation: the trigger loads the function's state from the
 * `bot4_function_state` KV bucket, passes it in the context, and stores the `state` the handler
 * returns (compare-and-set on the revision). The state also holds, per consumer, the last stream
 * sequence it has applied, so a message redelivered after its batch's state was saved is acked
 * without invoking the handler again (its outputs were published before the state was written).
 */

/** One message of the batch, parsed: its envelope (by the function's `input` schema) and its delivery. */
export interface InboundEvent<In = EventEnvelope> {
  /** The stream the message is stored in (EVENTS, COMMANDS, …). */
  readonly stream: string;
  /** The message's stream sequence: the cause id of every output it produces. */
  readonly seq: number;
  /** The subject it was published on. */
  readonly subject: string;
  /** 1 on the first delivery; JetStream counts redeliveries. */
  readonly deliveryCount: number;
  /** The parsed envelope (`type`, `data`, `id`, `correlationid`, …). */
  readonly event: In;
}

/** What a handler knows besides the batch. */
export interface FunctionContext<S> {
  /** The function's manifest name. */
  readonly name: FunctionName;
  readonly config: Config;
  readonly logger: Logger;
  /** The function's state as of the end of the previous batch (its `initial()` the first time). */
  readonly state: S;
  /** Wall-clock ms at invocation. Decisions should prefer event timestamps, which survive replays. */
  readonly now: number;
  /**
   * Interim effects published at once, while the handler still runs — progress of a long run. Present
   * when the function runs in process (absent in a Lambda, where a handler reports progress with its
   * effects instead). Not part of the batch's commit: ids are deterministic
   * (`<type>:<function>:<stream>:<cause seq>:live:<n>`, {@link liveOutputId}), so a redelivered batch republishes nothing new, and
   * a handler awaits its live publishes before returning so they never land after its final effects.
   */
  readonly live?: LiveChannel;
}

/** See {@link FunctionContext.live}. */
export interface LiveChannel {
  publish(effects: { events?: readonly OutputEvent[]; objects?: readonly OutputObject[] }): Promise<void>;
}

/**
 * An event to publish; `cause` is the stream sequence of the inbound event that produced it. Built
 * from a catalogue entry with `outputOf` (core/functions/outputs.ts), which fills subject and type.
 */
export interface OutputEvent<T = unknown> {
  readonly cause: number;
  /** A subject built with core/subjects.ts (e.g. `subjects.events.of("compliance", "violation")`). */
  readonly subject: string;
  /** Dotted lowercase (`compliance.violation`). */
  readonly type: string;
  readonly data: T;
}

/** An immutable record for the AUDIT stream, published on `subjects.audit.of(<function>, kind)` (built with `recordOf`). */
export interface OutputRecord<T = unknown> {
  readonly cause: number;
  /** One subject token, e.g. `decision`, `control`. */
  readonly kind: string;
  /** Dotted lowercase (`audit.decision`). */
  readonly type: string;
  readonly data: T;
}

/** A JSON document to store in the results object store under `name` (overwritten when repeated). */
export interface OutputObject<T = unknown> {
  readonly cause: number;
  readonly name: string;
  readonly data: T;
}

/**
 * What a handler returns. Outputs of one cause are numbered in the order events, records, objects,
 * so the same batch always yields the same message ids. Omitting `state` keeps the state unchanged.
 */
export interface Effects<S> {
  readonly events?: readonly OutputEvent[];
  readonly records?: readonly OutputRecord[];
  readonly objects?: readonly OutputObject[];
  readonly state?: S;
}

/** How a stateful function declares its state: a zod schema (state crosses JSON) and a start value. */
export interface StateSpec<S> {
  readonly schema: z.ZodType<S>;
  initial(): S;
}

/** What a function's tools are built with. Tools may do I/O; the event handler may not. */
export interface FunctionToolDeps<S> {
  readonly name: FunctionName;
  readonly config: Config;
  readonly logger: Logger;
  /** The state the trigger last saved (the initial state when there is none yet). */
  state(): Promise<S>;
  /** The bus, connected on first use (in a Lambda only tool calls connect, never the event path). */
  bus(): Promise<Bus>;
}

/** What a function's background work is given: its tool deps and the host's Prometheus registry. */
export interface FunctionBackgroundDeps<S> extends FunctionToolDeps<S> {
  /** Served on the host's `/metrics` (the trigger's port locally). */
  readonly metrics: Registry;
}

/** Background work the host keeps running beside the trigger; stopped before the trigger. */
export interface RunningBackground {
  stop(): Promise<void>;
}

export interface FunctionDefinition<In = EventEnvelope, S = undefined> {
  /** The manifest name; the subjects it consumes come from the manifest (see {@link consumedSubjects}). */
  readonly name: FunctionName;
  /**
   * Parses one inbound envelope (the whole JSON object, not only `data`). A message that fails it is
   * dead-lettered at once, never retried.
   */
  readonly input: z.ZodType<In>;
  /** Present for functions that keep state across batches. */
  readonly state?: StateSpec<S>;
  /**
   * Most messages the trigger hands this function in one batch, in place of TRIGGER_BATCH_SIZE: for a
   * function whose cost is mostly per batch (the ledger's SQL transaction).
   */
  readonly batchSize?: number;
  /** The function's tools (snake_case, served over NATS locally and over HTTP in its Lambda). */
  tools(deps: FunctionToolDeps<S>): readonly Tool[];
  /**
   * Optional work the host runs beside the trigger (timers, watchers). It may do I/O, like tools, and
   * turns what it sees into commands on the function's own subject (`cmd.<name>.<command>`), so every
   * decision still goes through the pure handler with deterministic output ids. The InfraEngineer's
   * scrape timer and the IntegrationValidator's registry watcher are this. A Lambda deployment runs
   * it in the trigger shard (or replaces it with an EventBridge schedule publishing the same command).
   */
  background?(deps: FunctionBackgroundDeps<S>): Promise<RunningBackground>;
  /**
   * The pure handler: no I/O, deterministic for a given batch and state. Throwing fails the whole
   * batch (nak with backoff, dead letter after max deliveries).
   */
  handle(batch: readonly InboundEvent<In>[], ctx: FunctionContext<S>): Effects<S> | Promise<Effects<S>>;
  /** Releases what the function holds open (the ledger's database); called once its trigger stopped. */
  close?(): Promise<void>;
}

/** Any function, as the trigger and the hosts hold them. */
export type AnyFunctionDefinition = FunctionDefinition<unknown, unknown>;

/** What `functions/<name>/function.ts` exports. */
export interface FunctionModule {
  readonly definition: AnyFunctionDefinition;
}

/** Declares a function; checks its name against the manifest. */
export function defineFunction<In, S = undefined>(def: FunctionDefinition<In, S>): FunctionDefinition<In, S> {
  manifestEntry(def.name);
  return def;
}

/** The manifest entry of a function name (throws for a name that is not a manifest function). */
export function manifestEntry(name: string): FunctionAgent {
  const agent = functionAgents.find((a) => a.name === name);
  if (agent === undefined) throw new Error(`"${name}" is not a function of the agent manifest`);
  return agent;
}

/** The subjects a function consumes, from the manifest: one durable consumer each. */
export function consumedSubjects(name: FunctionName): readonly string[] {
  return manifestEntry(name).consumes;
}

/**
 * The deterministic id of an output (message id and envelope id), in the catalogue's one style
 * ({@link messageId}): the output's type, then function, source stream, cause sequence and the
 * output's index among that cause's outputs, e.g. `compliance.violation:compliance:EVENTS:42:0`.
 * Nothing in it depends on the delivery, so a redelivered input yields the same ids.
 */
export function outputId(type: string, fn: string, stream: string, cause: number, index: number): string {
  return messageId(type, fn, stream, cause, index);
}

/** The id of the n-th live (interim) output of a cause: `<type>:<function>:<stream>:<cause>:live:<n>`. */
export function liveOutputId(type: string, fn: string, stream: string, cause: number, n: number): string {
  return messageId(type, fn, stream, cause, "live", n);
}
