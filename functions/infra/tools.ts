import { z } from "zod";
import type { FunctionToolDeps } from "../../core/functions/contract.ts";
import { defineTool, type Tool } from "../../core/tools/tool.ts";
import { snakeTool } from "../../core/tools/snake.ts";
import { AgentHealth, JetStreamSummary } from "./derive.ts";
import type { InfraState } from "./state.ts";
import { AlertState } from "./rules.ts";

const Resolved = AlertState.extend({ resolvedAt: z.number() });

const AgentReport = AgentHealth.extend({
  /** up: live, nothing firing for it; degraded: live with firing alerts; down: seen, now gone; absent: never seen. */
  state: z.enum(["up", "degraded", "down", "absent"]),
  alerts: z.array(z.string()),
});

/** The agent's state from its instances and the alerts firing for it. */
export function agentState(
  a: z.infer<typeof AgentHealth>,
  firing: readonly string[],
): z.infer<typeof AgentReport>["state"] {
  if (a.instances === 0) return a.seen ? "down" : "absent";
  return firing.length > 0 ? "degraded" : "up";
}

/** The InfraEngineer's tools, both reading the state its handler keeps. */
export function infraTools(deps: FunctionToolDeps<InfraState>): readonly Tool[] {
  const stale = (at: number | undefined) =>
    at === undefined || Date.now() - at > 3 * deps.config.INFRA_INTERVAL_MS + 2_000;

  const getAlerts = defineTool({
    name: "get_alerts",
    description:
      "Alerts of the InfraEngineer's rules (agent down, consumer lag, DLQ, tool errors, p99 over SLO, event-loop lag, JetStream storage): firing by default, or pending too; optionally the recently resolved ones",
    input: z.object({
      state: z.enum(["firing", "pending", "all"]).default("firing"),
      severity: z.enum(["info", "warning", "critical"]).optional(),
      include_resolved: z.boolean().default(false),
    }),
    output: z.object({
      at: z.number().nullable(),
      stale: z.boolean(),
      alerts: z.array(AlertState),
      resolved: z.array(Resolved).optional(),
    }),
    async handler(a) {
      const s = await deps.state();
      const alerts = Object.values(s.alerts)
        .filter((x) => a.state === "all" || x.state === a.state)
        .filter((x) => a.severity === undefined || x.severity === a.severity)
        .sort((x, y) => x.activeAt - y.activeAt || x.id.localeCompare(y.id));
      const at = s.health?.at ?? null;
      return {
        at,
        stale: stale(at ?? undefined),
        alerts,
        ...(a.include_resolved ? { resolved: s.resolved } : {}),
      };
    },
  });

  const healthReport = defineTool({
    name: "health_report",
    description:
      "Every agent of the manifest with its state (up, degraded, down, absent), instances, versions, heartbeat age, event-loop lag, RSS, tool error rate and p99, and the alerts firing for it; JetStream's streams, consumers, DLQ and storage",
    input: z.object({}),
    output: z.object({
      at: z.number().nullable(),
      stale: z.boolean(),
      status: z.enum(["ok", "degraded", "critical", "unknown"]),
      agents: z.array(AgentReport),
      jetstream: JetStreamSummary.nullable(),
      firing: z.number().int(),
    }),
    async handler() {
      const s = await deps.state();
      const firing = Object.values(s.alerts).filter((x) => x.state === "firing");
      const agents = (s.health?.agents ?? []).map((a) => {
        const mine = firing.filter((x) => x.labels.agent === a.agent).map((x) => x.alert);
        return { ...a, state: agentState(a, mine), alerts: mine };
      });
      const status: "ok" | "degraded" | "critical" | "unknown" =
        s.health === null
          ? "unknown"
          : firing.some((x) => x.severity === "critical")
            ? "critical"
            : firing.some((x) => x.severity === "warning")
              ? "degraded"
              : "ok";
      const at = s.health?.at ?? null;
      return {
        at,
        stale: stale(at ?? undefined),
        status,
        agents,
        jetstream: s.health?.jetstream ?? null,
        firing: firing.length,
      };
    },
  });

  return [getAlerts, healthReport].map(snakeTool);
}
