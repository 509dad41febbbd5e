import { natsBus } from "../../adapters/nats/bus.ts";
import { z } from "zod";
import type { FunctionToolDeps } from "../../core/functions/contract.ts";
import { Side } from "../../core/domain/trading.ts";
import { defineTool, type Tool } from "../../core/tools/tool.ts";
import { snakeTool } from "../../core/tools/snake.ts";
import { readAudit } from "./audit-reader.ts";
import { events } from "../../core/events/catalogue.ts";
import { auditKind, ControlRecord } from "./records.ts";
import { checkOrder, type ComplianceState, Decision, Rule, thresholdsOf, Violation } from "./rules.ts";
import { Amount, Price } from "../../core/domain/bounds.ts";
import { UnifiedSymbol } from "../../core/domain/market.ts";

/** A time as integer UTC ms or an ISO 8601 string. */
const Time = z.union([
  z.number().int().nonnegative(),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);

const Period = z
  .object({ from: Time.optional(), to: Time.optional() })
  .refine((p) => p.from === undefined || p.to === undefined || p.from <= p.to, {
    message: "from must not be after to",
    path: ["from"],
  });

const AuditTrailInput = z.object({
  from: Time.optional(),
  to: Time.optional(),
  symbol: UnifiedSymbol.optional(),
  order_id: z.string().min(1).optional(),
  account: z.string().min(1).optional(),
  kind: z.enum([auditKind.decision, auditKind.control]).optional(),
  outcome: z.enum(["pass", "violation"]).optional(),
  limit: z.number().int().min(1).max(1000).default(100),
});

const AuditRecordOut = z.object({
  seq: z.number().int(),
  subject: z.string(),
  type: z.string(),
  /** When the record was written (ISO 8601). */
  time: z.string(),
  data: z.union([Decision, ControlRecord]),
});

const AuditTrailOutput = z.object({
  records: z.array(AuditRecordOut),
  scanned: z.number().int(),
  truncated: z.boolean(),
});

const ReportOutput = z.object({
  from: z.number().nullable(),
  to: z.number().nullable(),
  decisions: z.number().int(),
  passed: z.number().int(),
  withViolations: z.number().int(),
  violations: z.number().int(),
  byRule: z.record(z.string(), z.number().int()),
  bySymbol: z.record(z.string(), z.number().int()),
  byAccount: z.record(z.string(), z.number().int()),
  controls: z.number().int(),
});

const CheckOrderInput = z.object({
  account: z.string().min(1).default("default"),
  symbol: UnifiedSymbol,
  side: Side,
  type: z.enum(["market", "limit", "stop", "stop_limit"]).default("limit"),
  amount: Amount,
  price: Price.optional(),
});

const CheckOrderOutput = z.object({
  allowed: z.boolean(),
  checked: z.array(Rule),
  violations: z.array(Violation),
  position: z.number(),
  lastPrice: z.number().nullable(),
});

type Entry = z.infer<typeof AuditRecordOut>;

/** Parses a compliance AUDIT entry into its record (decision or control), or undefined. */
function toRecord(e: {
  seq: number;
  subject: string;
  envelope: { type: string; time: string; data: unknown };
}): Entry | undefined {
  const data =
    e.envelope.type === events.compliance.decision.type
      ? events.compliance.decision.schema.safeParse(e.envelope.data)
      : events.compliance.control.schema.safeParse(e.envelope.data);
  if (!data.success) return undefined;
  return { seq: e.seq, subject: e.subject, type: e.envelope.type, time: e.envelope.time, data: data.data };
}

const inPeriod = (at: number, from?: number, to?: number) =>
  (from === undefined || at >= from) && (to === undefined || at <= to);

/** True when a record passes the audit trail's filters. */
function matches(args: z.infer<typeof AuditTrailInput>, r: Entry): boolean {
  if (!inPeriod(r.data.at, args.from, args.to)) return false;
  const d = r.data;
  if (!("outcome" in d))
    return (
      args.kind !== auditKind.decision &&
      args.symbol === undefined &&
      args.account === undefined &&
      args.order_id === undefined &&
      args.outcome === undefined
    );
  return (
    args.kind !== auditKind.control &&
    (args.symbol === undefined || d.symbol === args.symbol) &&
    (args.account === undefined || d.account === args.account) &&
    (args.order_id === undefined || d.orderId === args.order_id) &&
    (args.outcome === undefined || d.outcome === args.outcome)
  );
}

/** The ComplianceAuditor's tools. */
export function complianceTools(deps: FunctionToolDeps<ComplianceState>): readonly Tool[] {
  const auditTrail = defineTool({
    name: "audit_trail",
    description:
      "Compliance audit records (decisions and trading-control changes) from the AUDIT stream, oldest first, filtered by event time range, symbol, order id, account, kind and outcome",
    input: AuditTrailInput,
    output: AuditTrailOutput,
    async handler(args) {
      const bus = natsBus(await deps.bus());
      const records: Entry[] = [];
      let scanned = 0;
      let truncated = false;
      await readAudit(bus, deps.logger, args.from, (entry) => {
        scanned++;
        const r = toRecord(entry);
        if (r === undefined || !matches(args, r)) return;
        if (records.length === args.limit) {
          truncated = true;
          return "stop";
        }
        records.push(r);
      });
      return { records, scanned, truncated };
    },
  });

  const report = defineTool({
    name: "compliance_report",
    description:
      "Summary of compliance decisions for a period (event time): decisions, passes, violations by rule, symbol and account, and trading-control changes",
    input: Period,
    output: ReportOutput,
    async handler(args) {
      const bus = natsBus(await deps.bus());
      const out: z.infer<typeof ReportOutput> = {
        from: args.from ?? null,
        to: args.to ?? null,
        decisions: 0,
        passed: 0,
        withViolations: 0,
        violations: 0,
        byRule: {},
        bySymbol: {},
        byAccount: {},
        controls: 0,
      };
      const bump = (m: Record<string, number>, k: string) => {
        m[k] = (m[k] ?? 0) + 1;
      };
      await readAudit(bus, deps.logger, args.from, (entry) => {
        const r = toRecord(entry);
        if (r === undefined || !inPeriod(r.data.at, args.from, args.to)) return;
        const d = r.data;
        if (!("outcome" in d)) {
          out.controls++;
          return;
        }
        out.decisions++;
        if (d.outcome === "pass") out.passed++;
        else out.withViolations++;
        for (const v of d.violations) {
          out.violations++;
          bump(out.byRule, v.rule);
          bump(out.bySymbol, v.symbol);
          bump(out.byAccount, v.account);
        }
      });
      return out;
    },
  });

  const check = defineTool({
    name: "check_order",
    description:
      "Dry-runs the pre-trade compliance rules (restricted symbol, order notional, position limit, price band) on a proposed order against the current state; records nothing",
    input: CheckOrderInput,
    output: CheckOrderOutput,
    async handler(args) {
      const state = await deps.state();
      const result = checkOrder(state, args, thresholdsOf(deps.config));
      return {
        allowed: result.violations.length === 0,
        checked: result.checked,
        violations: result.violations,
        position: state.positions[`${args.account}|${args.symbol}`] ?? 0,
        lastPrice: state.lastPrices[args.symbol] ?? null,
      };
    },
  });

  return [auditTrail, report, check].map(snakeTool);
}
