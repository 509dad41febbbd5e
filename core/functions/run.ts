import { z } from "zod";
import type { Config } from "../config.ts";
import type { Logger } from "../telemetry/log.ts";
import type { Effects, FunctionDefinition, InboundEvent, LiveChannel } from "./contract.ts";

/**
 * The invocation protocol between the trigger and a function, and the one runner both sides use:
 * the in-process invoker calls {@link runBatch} directly, a Lambda's `handler` calls it on the JSON
 * payload the Lambda invoker sends. Everything here crosses JSON, so both sides parse it.
 */

export const BATCH_KIND = "bot4.function.batch";

export const BatchMessage = z.object({
  seq: z.number().int().positive(),
  subject: z.string().min(1),
  deliveryCount: z.number().int().positive(),
  /** The envelope as received (the function parses it with its own `input` schema). */
  event: z.unknown(),
});
export type BatchMessage = z.infer<typeof BatchMessage>;

/** What the trigger sends a function: one batch from one consumer, and the function's state. */
export const BatchPayload = z.object({
  kind: z.literal(BATCH_KIND),
  function: z.string().min(1),
  stream: z.string().min(1),
  messages: z.array(BatchMessage).min(1),
  /** The state as last saved; absent for stateless functions or before the first save. */
  state: z.unknown().optional(),
  now: z.number().int().nonnegative(),
});
export type BatchPayload = z.infer<typeof BatchPayload>;

const Cause = z.number().int().positive();
const DottedType = z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, "dotted lowercase");

/** What a function answers: its effects, as JSON. */
export const BatchResult = z.object({
  events: z.array(
    z.object({ cause: Cause, subject: z.string().min(1), type: DottedType, data: z.unknown() }),
  ),
  records: z.array(
    z.object({ cause: Cause, kind: z.string().regex(/^[a-z0-9_-]+$/), type: DottedType, data: z.unknown() }),
  ),
  objects: z.array(z.object({ cause: Cause, name: z.string().min(1), data: z.unknown() })),
  /** Present when the handler returned a new state. */
  state: z.unknown().optional(),
});
export type BatchResult = z.infer<typeof BatchResult>;

/** A message that does not satisfy the function's input schema: dead-lettered at once, never retried. */
export class SchemaError extends Error {
  override name = "SchemaError";
  constructor(
    readonly seq: number,
    readonly issues: readonly { path: string; message: string }[],
  ) {
    super(
      `message ${seq} fails the input schema: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
    );
  }
}

/** Parses one raw envelope with the function's input schema; throws a {@link SchemaError}. */
export function parseInbound<In, S>(
  def: Pick<FunctionDefinition<In, S>, "input">,
  stream: string,
  message: BatchMessage,
): InboundEvent<In> {
  const parsed = def.input.safeParse(message.event);
  if (!parsed.success) {
    throw new SchemaError(
      message.seq,
      parsed.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })),
    );
  }
  return {
    stream,
    seq: message.seq,
    subject: message.subject,
    deliveryCount: message.deliveryCount,
    event: parsed.data,
  };
}

/** The state to hand the handler: the saved one parsed by the function's schema, or its initial one. */
export function resolveState<In, S>(def: FunctionDefinition<In, S>, saved: unknown): S {
  if (def.state === undefined) return undefined as S;
  if (saved === undefined) return def.state.initial();
  return def.state.schema.parse(saved);
}

/** Runs one batch through a function and returns its effects as JSON-ready data. */
export function runBatch<In, S>(
  def: FunctionDefinition<In, S>,
  payload: BatchPayload,
  env: { config: Config; logger: Logger },
): Promise<BatchResult> {
  if (payload.function !== def.name) {
    throw new Error(`payload for function "${payload.function}" sent to "${def.name}"`);
  }
  const batch = payload.messages.map((m) => parseInbound(def, payload.stream, m));
  return runParsed(def, batch, payload.state, payload.now, env);
}

/** Runs an already parsed batch (the in-process invoker skips the second parse). */
export async function runParsed<In, S>(
  def: FunctionDefinition<In, S>,
  batch: readonly InboundEvent<In>[],
  savedState: unknown,
  now: number,
  env: { config: Config; logger: Logger; live?: LiveChannel },
): Promise<BatchResult> {
  const effects: Effects<S> = await def.handle(batch, {
    name: def.name,
    config: env.config,
    logger: env.logger,
    state: resolveState(def, savedState),
    now,
    ...(env.live !== undefined ? { live: env.live } : {}),
  });
  const causes = new Set(batch.map((b) => b.seq));
  const checkCause = (cause: number) => {
    if (!causes.has(cause)) {
      throw new Error(`${def.name} returned an output whose cause ${cause} is not in the batch`);
    }
    return cause;
  };
  const result: BatchResult = {
    events: (effects.events ?? []).map((e) => ({ ...e, cause: checkCause(e.cause) })),
    records: (effects.records ?? []).map((r) => ({ ...r, cause: checkCause(r.cause) })),
    objects: (effects.objects ?? []).map((o) => ({ ...o, cause: checkCause(o.cause) })),
  };
  if (effects.state !== undefined && def.state !== undefined) {
    result.state = def.state.schema.parse(effects.state);
  }
  return result;
}
