import { z } from "zod";
import { AlertSeverity, AlertState } from "../../core/events/data/infra.ts";
import type { Sample } from "./promtext.ts";

/**
 * Alert rules in Prometheus's form — `alert`, `expr`, `for`, `keep_firing_for`, `labels.severity`,
 * `annotations.summary` / `annotations.runbook` — over the InfraEngineer's derived series
 * (`bot4_infra_*`, see derive.ts). The same list is written as a Prometheus rules file
 * (infra/monitoring/rules.yml) and evaluated here, in the pure handler, with Prometheus's semantics:
 * a series whose condition holds becomes pending, fires once it has held for `for`, and resolves
 * once it has been false for `keep_firing_for` — so an alert fires once and resolves once, without
 * flapping. Expressions are one comparison, `selector op number`, which is valid PromQL.
 */

export const Severity = AlertSeverity;

export const AlertRule = z.object({
  alert: z.string().regex(/^[A-Z][A-Za-z0-9]+$/),
  expr: z.string().min(1),
  /** Go-style durations as Prometheus writes them: `0s`, `10s`, `2m`, `1h`. */
  for: z.string().regex(/^\d+(ms|s|m|h)$/),
  keep_firing_for: z.string().regex(/^\d+(ms|s|m|h)$/),
  labels: z.object({ severity: Severity }),
  annotations: z.object({ summary: z.string().min(1), runbook: z.string().min(1) }),
});
export type AlertRule = z.infer<typeof AlertRule>;

/** The shipped defaults. Thresholds are the seed's service-level objectives; edit here, regenerate. */
export const defaultRules: readonly AlertRule[] = [
  {
    alert: "AgentDown",
    expr: "bot4_infra_agent_up == 0",
    for: "10s",
    keep_firing_for: "0s",
    labels: { severity: "critical" },
    annotations: {
      summary: "agent {{ $labels.agent }} has no live instance in the registry",
      runbook:
        "bot4 status; check the agent's process or container logs and restart it (npm start / docker compose up -d)",
    },
  },
  {
    alert: "ConsumerLagGrowing",
    expr: "bot4_infra_consumer_lag_growth > 0",
    for: "10s",
    keep_firing_for: "15s",
    labels: { severity: "warning" },
    annotations: {
      summary:
        "consumer {{ $labels.consumer }} on {{ $labels.stream }} is falling behind ({{ $value }} more unprocessed than its low of the last 30 s)",
      runbook:
        "bot4 status shows the lag; a function that stopped acking or is failing: check its logs, DLQ and trigger /metrics",
    },
  },
  {
    alert: "ConsumerLagHigh",
    expr: "bot4_infra_consumer_lag > 10000",
    for: "1m",
    keep_firing_for: "1m",
    labels: { severity: "warning" },
    annotations: {
      summary:
        "consumer {{ $labels.consumer }} on {{ $labels.stream }} has {{ $value }} messages unprocessed",
      runbook: "scale the function's trigger (more shards) or find what slows its handler",
    },
  },
  {
    alert: "DeadLettersPresent",
    expr: "bot4_infra_dlq_messages > 0",
    for: "0s",
    keep_firing_for: "1m",
    labels: { severity: "warning" },
    annotations: {
      summary: "{{ $value }} dead letters on the DLQ stream",
      runbook:
        "read them (nats stream view DLQ), fix the cause, replay what matters, then purge DLQ as the operator",
    },
  },
  {
    alert: "ToolErrorRate",
    expr: "bot4_infra_tool_error_ratio > 0.05",
    for: "1m",
    keep_firing_for: "2m",
    labels: { severity: "warning" },
    annotations: {
      summary:
        "{{ $labels.agent }}: {{ $value }} of tool calls fail with internal errors, timeouts or unavailability",
      runbook:
        "the agent's logs (tool call failed) name the tool; bot4 validate --agent <name> reproduces contract failures",
    },
  },
  {
    alert: "ToolLatencyOverSlo",
    expr: "bot4_infra_tool_p99_slo_ratio > 1",
    for: "2m",
    keep_firing_for: "2m",
    labels: { severity: "warning" },
    annotations: {
      summary: "{{ $labels.agent }}: tool-call p99 is {{ $value }}× its SLO",
      runbook:
        "bot4_tool_call_seconds by tool on the agent's /metrics shows which tool; check CPU and event-loop lag",
    },
  },
  {
    alert: "EventLoopLag",
    expr: "bot4_infra_event_loop_lag_p99_seconds > 0.2",
    for: "1m",
    keep_firing_for: "1m",
    labels: { severity: "warning" },
    annotations: {
      summary: "{{ $labels.agent }}: event-loop lag p99 {{ $value }} s",
      runbook:
        "a CPU-heavy call is blocking the process: profile (node --cpu-prof) or move the work to the worker pool",
    },
  },
  {
    alert: "JetStreamStorage",
    expr: "bot4_infra_jetstream_storage_ratio > 0.8",
    for: "5m",
    keep_firing_for: "5m",
    labels: { severity: "critical" },
    annotations: {
      summary: "JetStream file storage is {{ $value }} full",
      runbook: "raise max_file_store, shorten stream max_age, or purge DLQ/MARKET; AUDIT is never purged",
    },
  },
  {
    alert: "MetricsScrapeFailing",
    expr: "bot4_infra_scrape_ok == 0",
    for: "1m",
    keep_firing_for: "0s",
    labels: { severity: "info" },
    annotations: {
      summary: "{{ $labels.agent }}'s /metrics cannot be scraped",
      runbook: "the instance heartbeats but its HTTP side does not answer: check its port, API keys and logs",
    },
  },
];

/** `10s` → 10 000 ms. */
export function durationMs(d: string): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(d);
  if (m === null) throw new Error(`not a duration: ${d}`);
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "s" ? n * 1_000 : m[2] === "m" ? n * 60_000 : n * 3_600_000;
}

export interface Expression {
  metric: string;
  matchers: Record<string, string>;
  op: "==" | "!=" | ">" | "<" | ">=" | "<=";
  threshold: number;
}

/** Parses `name{a="x"} > 1` (the one form the rules use). */
export function parseExpr(expr: string): Expression {
  const m = /^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?\s*(==|!=|>=|<=|>|<)\s*(-?[0-9.e+-]+)\s*$/.exec(
    expr,
  );
  if (m === null) throw new Error(`unsupported expression: ${expr}`);
  const matchers: Record<string, string> = {};
  for (const pair of (m[2] ?? "").replace(/^\{|\}$/g, "").split(",")) {
    const kv = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"([^"]*)"\s*$/.exec(pair);
    if (kv !== null) matchers[kv[1] as string] = kv[2] as string;
  }
  return { metric: m[1] as string, matchers, op: m[3] as Expression["op"], threshold: Number(m[4]) };
}

function compare(v: number, op: Expression["op"], t: number): boolean {
  switch (op) {
    case "==":
      return v === t;
    case "!=":
      return v !== t;
    case ">":
      return v > t;
    case "<":
      return v < t;
    case ">=":
      return v >= t;
    case "<=":
      return v <= t;
  }
}

/** The series of `samples` for which `expr` holds, as Prometheus's instant query would return them. */
export function evaluate(expr: Expression, samples: readonly Sample[]): Sample[] {
  return samples.filter(
    (s) =>
      s.name === expr.metric &&
      Object.entries(expr.matchers).every(([k, v]) => s.labels[k] === v) &&
      compare(s.value, expr.op, expr.threshold),
  );
}

export { AlertState };

export interface Transition {
  kind: "firing" | "resolved";
  alert: AlertState;
  at: number;
}

export const alertId = (alert: string, labels: Readonly<Record<string, string>>) =>
  `${alert}{${Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`)
    .join(",")}}`;

function render(template: string, labels: Readonly<Record<string, string>>, value: number): string {
  const shown = Number.isInteger(value) ? String(value) : value.toPrecision(3);
  return template
    .replace(/\{\{\s*\$value\s*\}\}/g, shown)
    .replace(/\{\{\s*\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_, k: string) => labels[k] ?? "");
}

/**
 * One evaluation at time `at`: the new alert states and the transitions to publish. Pure. A series
 * absent from `samples` counts as false (its condition no longer holds).
 */
export function step(
  rules: readonly AlertRule[],
  previous: Readonly<Record<string, AlertState>>,
  samples: readonly Sample[],
  at: number,
): { alerts: Record<string, AlertState>; transitions: Transition[] } {
  const alerts: Record<string, AlertState> = {};
  const transitions: Transition[] = [];
  const held = new Set<string>();
  for (const rule of rules) {
    const expr = parseExpr(rule.expr);
    const forMs = durationMs(rule.for);
    for (const s of evaluate(expr, samples)) {
      const own = { ...s.labels };
      const id = alertId(rule.alert, own);
      held.add(id);
      const before = previous[id];
      const activeAt = before?.activeAt ?? at;
      const firing = before?.state === "firing" || at - activeAt >= forMs;
      const next: AlertState = {
        id,
        alert: rule.alert,
        severity: rule.labels.severity,
        labels: own,
        state: firing ? "firing" : "pending",
        value: s.value,
        summary: render(rule.annotations.summary, own, s.value),
        runbook: rule.annotations.runbook,
        activeAt,
        firedAt: firing ? (before?.firedAt ?? at) : null,
        lastTrueAt: at,
      };
      alerts[id] = next;
      if (firing && before?.state !== "firing") transitions.push({ kind: "firing", alert: next, at });
    }
  }
  for (const [id, before] of Object.entries(previous)) {
    if (held.has(id)) continue;
    if (before.state === "pending") continue;
    const rule = rules.find((r) => r.alert === before.alert);
    const keep = rule === undefined ? 0 : durationMs(rule.keep_firing_for);
    if (at - before.lastTrueAt < keep) {
      alerts[id] = before;
      continue;
    }
    transitions.push({ kind: "resolved", alert: before, at });
  }
  return { alerts, transitions };
}
