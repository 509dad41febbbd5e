import type { z } from "zod";
import { BacktestSummary } from "../../core/backtest/backtest.ts";
import type { Bus } from "../../adapters/nats/bus.ts";
import { readObject } from "../../adapters/nats/objects.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { objectStores } from "../../core/subjects.ts";
import { failure } from "../../core/tools/errors.ts";
import { resultObjectName } from "./command.ts";
import { type BacktestResultAnswer, RunStatus, statusObjectName } from "./status.ts";

const decoder = new TextDecoder();

/** Status objects are overwritten while a run goes: read safely against a concurrent put (adapters/nats/objects.ts). */
async function readJson(bus: Bus, name: string): Promise<unknown> {
  const bytes = await readObject(bus, objectStores.results, name);
  return bytes === null ? undefined : (JSON.parse(decoder.decode(bytes)) as unknown);
}

const malformed = (what: string) => failure(RpcCode.InternalError, "data", "data.invalid", what);

/** A stored document parsed by its schema; undefined when absent, an internal error when malformed. */
async function readParsed<S extends z.ZodType>(
  bus: Bus,
  name: string,
  schema: S,
  what: string,
): Promise<z.infer<S> | undefined> {
  const json = await readJson(bus, name);
  if (json === undefined) return undefined;
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw malformed(what);
  return parsed.data;
}

/**
 * A run as stored: its status object and the summary of its result. The result wins: a run whose
 * result is stored is completed, whatever an older status object says (a result stored by an older
 * version, or a redelivered command re-running a completed run after a crash before its ack).
 */
export async function readRun(bus: Bus, runId: string): Promise<BacktestResultAnswer> {
  // The status first: the trigger stores a run's result before its "completed" status, so a
  // completed status read here means the result read next is there.
  const status = await readParsed(
    bus,
    statusObjectName(runId),
    RunStatus,
    `stored status of ${runId} is malformed`,
  );
  const summary = await readParsed(
    bus,
    resultObjectName(runId),
    BacktestSummary,
    `stored object ${resultObjectName(runId)} is not a backtest result`,
  );
  if (summary !== undefined) return completedAnswer(runId, status, summary);
  if (status === undefined) return { runId, found: false };
  const { at: _at, ...rest } = status;
  return { ...rest, found: true };
}

/** A completed run: its summary, with the attempt and final progress when the status has them. */
function completedAnswer(
  runId: string,
  status: RunStatus | undefined,
  summary: BacktestSummary,
): BacktestResultAnswer {
  const final = status?.status === "completed" ? status : undefined;
  return {
    runId,
    found: true,
    status: "completed",
    ...(status?.attempt !== undefined ? { attempt: status.attempt } : {}),
    ...(final?.progress !== undefined ? { progress: final.progress } : {}),
    summary,
  };
}
