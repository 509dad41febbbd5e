import { z } from "zod";

/** The data of the IntegrationValidator's command and events (entries in core/events/catalogue.ts). */

export const ToolReport = z.object({
  agent: z.string(),
  tool: z.string(),
  nature: z.enum(["read", "write", "trade"]).nullable(),
  inputs: z.number().int(),
  valid: z.number().int(),
  invalid: z.number().int(),
  /** Valid cases withheld from a state-changing tool without an account field. */
  withheld: z.number().int(),
  failures: z.number().int(),
  transports: z.array(z.string()),
});
export type ToolReport = z.infer<typeof ToolReport>;

export const ValidationFailure = z.object({
  agent: z.string(),
  tool: z.string(),
  check: z.string(),
  label: z.string(),
  transport: z.string().optional(),
  input: z.string().optional(),
  detail: z.string(),
});

const ValidatedAgent = z.object({ agent: z.string(), version: z.string(), tools: z.number().int() });
const Totals = z.object({
  agents: z.number().int(),
  tools: z.number().int(),
  inputs: z.number().int(),
  failures: z.number().int(),
});

/** One validation run over every running agent's tools. */
export const ValidationReport = z.object({
  runId: z.string(),
  startedAt: z.number().int(),
  durationMs: z.number(),
  seed: z.number().int(),
  inputsPerTool: z.number().int(),
  agents: z.array(ValidatedAgent),
  tools: z.array(ToolReport),
  totals: Totals,
  /** At most 200, the first found per tool first. */
  failures: z.array(ValidationFailure),
  passed: z.boolean(),
});
export type ValidationReport = z.infer<typeof ValidationReport>;

/** Why a run happened: asked for (`command`), or a new agent version registered (`registered`). */
export const ValidationTrigger = z.enum(["command", "registered"]);
export type ValidationTrigger = z.infer<typeof ValidationTrigger>;

/** integration.report on `cmd.integration.report` (COMMANDS): a run's report, handed to the handler. */
export const ReportCommand = z.object({ trigger: ValidationTrigger, report: ValidationReport });
export type ReportCommand = z.infer<typeof ReportCommand>;

/** integration.validated: a run's outcome; the full report is `reportObject` in the results store. */
export const IntegrationValidated = z.object({
  runId: z.string(),
  trigger: ValidationTrigger,
  passed: z.boolean(),
  totals: Totals,
  agents: z.array(ValidatedAgent),
  durationMs: z.number(),
  reportObject: z.string(),
});
export type IntegrationValidated = z.infer<typeof IntegrationValidated>;

/** integration.failed: a run that found failures, with the first 20 of them. */
export const IntegrationFailed = IntegrationValidated.extend({
  failures: z.array(ValidationFailure).max(20),
});
export type IntegrationFailed = z.infer<typeof IntegrationFailed>;
