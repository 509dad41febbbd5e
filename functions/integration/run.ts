import { randomUUID } from "node:crypto";
import type { Bus } from "../../adapters/nats/bus.ts";
import type { Config } from "../../core/config.ts";
import { events, newEvent } from "../../core/events/catalogue.ts";
import { type ValidateOptions, type ValidationReport, validateContracts } from "./validator.ts";

/** Where the handler stores a run's full report, in the results object store. */
export const reportObjectName = (runId: string) => `integration/${runId}.json`;

/** A run id: `<trigger>-<ISO time without separators>-<8 hex>`, sortable by time. */
export function newRunId(trigger: "command" | "registered"): string {
  const stamp = new Date().toISOString().replace(/[-:.]/g, "");
  return `${trigger === "command" ? "cmd" : "reg"}-${stamp}-${randomUUID().slice(0, 8)}`;
}

/**
 * Runs the validator and hands the report to the function's handler as an `integration.report`
 * command on `cmd.integration.report` (message id `integration.report:<runId>`, so a retried publish
 * is stored once); the handler publishes the events and stores it.
 */
export async function runAndReport(
  bus: Bus,
  config: Pick<Config, "BOT4_API_KEYS" | "VALIDATE_INPUTS_PER_TOOL">,
  trigger: "command" | "registered",
  options: ValidateOptions,
  runId = newRunId(trigger),
): Promise<ValidationReport> {
  const report = await validateContracts(
    bus,
    { apiKey: config.BOT4_API_KEYS[0], runId },
    { inputs_per_tool: config.VALIDATE_INPUTS_PER_TOOL, ...options },
  );
  await bus.publishEvent(
    newEvent(events.integration.report, { id: [runId], source: "integration", data: { trigger, report } }),
  );
  return report;
}
