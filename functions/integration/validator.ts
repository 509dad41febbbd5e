import { z } from "zod";
import { findAgent, type ToolNature, toolNature } from "../../core/agents/manifest.ts";
import { type LiveInstance, readInstances } from "../../adapters/nats/agent-registry.ts";
import type { Bus } from "../../adapters/nats/bus.ts";
import type { ToolReport, ValidationReport } from "../../core/events/data/integration.ts";
import { agreement, classify, type Failure, judge } from "./checks.ts";
import { generateCases, type JsonSchema } from "./generate.ts";
import { callOver, type Endpoints, type Outcome, TRANSPORTS, type Transport } from "./transports.ts";

/**
 * The IntegrationValidator's run: for every tool of every running agent (from the registry, so agents
 * added later are validated with no change here), generate cases from its input schema, send each
 * over one of the four transports in turn, and judge the answers (checks.ts). State-changing tools
 * (`write` / `trade` in the manifest) are only ever called with the dedicated paper validation
 * account (`account: "validation"`, `venue: "paper"`); a state-changing tool without an `account`
 * field gets only inputs its own schema refuses, so nothing it does can change anything.
 */

/** The account every state-changing call of the validator is pinned to, on the paper venue. */
export const VALIDATION_ACCOUNT = "validation";
export const VALIDATION_PINS = { account: VALIDATION_ACCOUNT, venue: "paper", exchange: "paper" } as const;

export const ValidateOptions = z
  .object({
    agent: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[a-z0-9]+$/, "an agent name or seed alias")
      .optional(),
    inputs_per_tool: z.number().int().min(5).max(500).default(50),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(1),
    /** Agents validated at once (each agent's tools, and each tool's cases, run in order). */
    concurrency: z.number().int().min(1).max(16).default(4),
    timeout_ms: z.number().int().min(100).max(60_000).default(10_000),
  })
  .strict();
export type ValidateOptions = z.input<typeof ValidateOptions>;

export { ValidationReport } from "../../core/events/data/integration.ts";

const isObj = (v: unknown): v is JsonSchema => typeof v === "object" && v !== null && !Array.isArray(v);
const cut = (s: string) => (s.length > 300 ? `${s.slice(0, 300)}…(${s.length} chars)` : s);

/** The newest instance of each running agent (optionally one), with its tools. */
function targets(instances: readonly LiveInstance[], agent: string | undefined): LiveInstance[] {
  const wanted = agent === undefined ? undefined : (findAgent(agent)?.name ?? agent);
  const newest = new Map<string, LiveInstance>();
  for (const i of instances) {
    if (wanted !== undefined && i.agent !== wanted) continue;
    const seen = newest.get(i.agent);
    if (seen === undefined || i.startedAt > seen.startedAt) newest.set(i.agent, i);
  }
  return [...newest.values()].sort((a, b) => a.agent.localeCompare(b.agent));
}

interface ToolTarget {
  agent: string;
  tool: string;
  url: string | undefined;
  input: JsonSchema;
  output: JsonSchema;
  nature: ToolNature | undefined;
}

/** Runs the validator over the running system and returns its report. */
export async function validateContracts(
  bus: Bus,
  env: { apiKey?: string | undefined; runId: string },
  raw: ValidateOptions = {},
): Promise<ValidationReport> {
  const options = ValidateOptions.parse(raw);
  const startedAt = Date.now();
  const started = performance.now();
  const live = await readInstances(bus);
  const chosen = targets(live, options.agent);
  const coordinator = live.find((i) => i.agent === "coordinator" && i.url !== undefined);
  const endpoints: Endpoints = {
    bus,
    coordinatorUrl: coordinator?.url,
    apiKey: env.apiKey,
    timeoutMs: options.timeout_ms,
  };
  const failures: Failure[] = [];
  // The manifest's tool list is the contract of what each running agent registers.
  for (const inst of chosen) {
    const declared = Object.keys(findAgent(inst.agent)?.tools ?? {}).sort();
    const served = inst.tools.map((t) => t.name).sort();
    if (declared.join(",") !== served.join(",")) {
      failures.push({
        agent: inst.agent,
        tool: "*",
        check: "manifest_tools_match",
        label: "registry",
        detail: `registered [${served.join(", ")}] but the manifest lists [${declared.join(", ")}]`,
      });
    }
  }
  const work: ToolTarget[] = chosen.flatMap((inst) =>
    inst.tools.map((t) => ({
      agent: inst.agent,
      tool: t.name,
      url: inst.url,
      input: t.inputSchema,
      output: t.outputSchema,
      nature: toolNature(inst.agent, t.name),
    })),
  );
  const reports: ToolReport[] = [];
  // One agent's tools one after another (an agent is one queue: its heavy tools share one CPU pool),
  // `concurrency` agents at once, those with the most tools first.
  const groups = new Map<string, ToolTarget[]>();
  for (const w of work) groups.set(w.agent, [...(groups.get(w.agent) ?? []), w]);
  const byAgent = [...groups.values()].sort((a, b) => b.length - a.length);
  let next = 0;
  const worker = async () => {
    while (next < byAgent.length) {
      for (const target of byAgent[next++] as ToolTarget[]) {
        const r = await validateTool(target, endpoints, options);
        reports.push(r.report);
        failures.push(...r.failures);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, byAgent.length) }, worker));
  reports.sort((a, b) => a.agent.localeCompare(b.agent) || a.tool.localeCompare(b.tool));
  const inputs = reports.reduce((n, r) => n + r.inputs, 0);
  return {
    runId: env.runId,
    startedAt,
    durationMs: Math.round(performance.now() - started),
    seed: options.seed,
    inputsPerTool: options.inputs_per_tool,
    agents: chosen.map((i) => ({ agent: i.agent, version: i.version, tools: i.tools.length })),
    tools: reports,
    totals: { agents: chosen.length, tools: reports.length, inputs, failures: failures.length },
    failures: failures.slice(0, 200),
    passed: failures.length === 0,
  };
}

/** Seed per tool: the run's seed mixed with the tool's name, so adding a tool changes no other's cases. */
function toolSeed(seed: number, name: string): number {
  let h = seed ^ 0x9e3779b9;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * One case over one transport. The MCP session's order budget is the coordinator guarding a trading
 * client (this run's one session), not the tool's answer: such a case goes over JSON-RPC instead.
 */
async function callCase(
  transport: Transport,
  endpoints: Endpoints,
  t: ToolTarget,
  json: string,
): Promise<Outcome> {
  const outcome = await callOver(transport, endpoints, t, json);
  return outcome.kind === "error" && outcome.cause === "mcp_order_budget"
    ? callOver("rpc", endpoints, t, json)
    : outcome;
}

async function validateTool(
  t: ToolTarget,
  endpoints: Endpoints,
  options: z.output<typeof ValidateOptions>,
): Promise<{ report: ToolReport; failures: Failure[] }> {
  const changesState = t.nature !== "read";
  const props = isObj(t.input.properties) ? t.input.properties : {};
  const hasAccount = "account" in props;
  const failures: Failure[] =
    changesState && t.input.additionalProperties !== false
      ? [
          {
            agent: t.agent,
            tool: t.tool,
            check: "unknown_fields_refused",
            label: "schema",
            detail: `a ${t.nature ?? "undeclared"} tool must refuse unknown fields (.strict()); its input schema allows them`,
          },
        ]
      : [];
  const transports: Transport[] = TRANSPORTS.filter((x) => x !== "http" || t.url !== undefined);
  const cases = generateCases(t.input, {
    seed: toolSeed(options.seed, `${t.agent}.${t.tool}`),
    max: options.inputs_per_tool,
    ...(changesState ? { pinned: VALIDATION_PINS } : {}),
  });
  let valid = 0;
  let invalid = 0;
  let withheld = 0;
  let sent = 0;
  let reference: { json: string } | undefined;
  for (const c of cases) {
    let verdict: ReturnType<typeof classify>;
    try {
      verdict = classify(t.input, c);
    } catch (err) {
      failures.push({
        agent: t.agent,
        tool: t.tool,
        check: "invalid_input_refused",
        label: c.label,
        detail: `the input schema cannot be read: ${String(err)}`,
      });
      break;
    }
    // Safety: a state-changing tool with no account to pin only ever gets inputs it must refuse.
    if (verdict.valid && changesState && !hasAccount) {
      withheld++;
      continue;
    }
    if (verdict.valid) valid++;
    else invalid++;
    // MCP types `arguments` as an object: arguments that are not one go over the other transports.
    const usable = c.kind === "args" ? transports.filter((x) => x !== "mcp") : transports;
    const transport = usable[sent++ % usable.length] as Transport;
    const outcome = await callCase(transport, endpoints, t, c.json);
    failures.push(
      ...judge(verdict, outcome, t.output, {
        agent: t.agent,
        tool: t.tool,
        label: c.label,
        input: cut(c.json),
      }),
    );
    if (reference === undefined && verdict.valid && outcome.kind === "result" && !changesState)
      reference = { json: c.json };
  }
  // The same answer over every transport, for read tools, on the first accepted valid input.
  if (reference !== undefined) {
    const agreed = await transportsAgree(t, endpoints, transports, reference.json);
    sent += agreed.sent;
    if (agreed.failure !== undefined) failures.push(agreed.failure);
  }
  return {
    report: {
      agent: t.agent,
      tool: t.tool,
      nature: t.nature ?? null,
      inputs: sent,
      valid,
      invalid,
      withheld,
      failures: failures.length,
      transports,
    },
    failures,
  };
}

/**
 * The reference transport is asked before and after the others (checks.ts `agreement`): the failure
 * when they disagree, and how many calls that took.
 */
async function transportsAgree(
  t: ToolTarget,
  endpoints: Endpoints,
  transports: readonly Transport[],
  json: string,
): Promise<{ sent: number; failure?: Failure }> {
  const [first, ...rest] = transports as [Transport, ...Transport[]];
  const a = await callOver(first, endpoints, t, json);
  const b = await callOver(first, endpoints, t, json);
  const others: Outcome[] = [];
  for (const x of rest) others.push(await callOver(x, endpoints, t, json));
  const c = await callOver(first, endpoints, t, json);
  const differs = agreement(a, [b, c], others);
  const sent = 3 + others.length;
  if (differs === undefined) return { sent };
  return {
    sent,
    failure: {
      agent: t.agent,
      tool: t.tool,
      check: "transports_agree",
      label: "valid",
      input: cut(json),
      detail: differs,
    },
  };
}
