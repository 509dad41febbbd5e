import type { z } from "zod";
import { defineFunction, type Effects, type OutputEvent } from "../../core/functions/contract.ts";
import { envelopeOf, events } from "../../core/events/catalogue.ts";
import { Tick } from "../../core/events/data/infra.ts";
import { outputOf } from "../../core/functions/outputs.ts";
import { type AlertRule, defaultRules, step } from "./rules.ts";
import { startSchedule } from "./schedule.ts";
import { InfraState, initialInfraState } from "./state.ts";
import { infraTools } from "./tools.ts";

/**
 * InfraEngineer. A timer in the function host (schedule.ts, the function's background work) scrapes
 * the system every INFRA_INTERVAL_MS and publishes what it derived as a `cmd.infra.tick` command
 * (message id `infra.tick:<interval>:<slot>`, so replicas publish one tick per interval). The pure handler
 * evaluates the alert rules on each tick's series and publishes `alert.firing` / `alert.resolved` on
 * `events.infra.alert` — once each per alert — and keeps the alerts and the latest health in its state,
 * which the tools `get_alerts` and `health_report` read.
 */

/** Where the alerts go (both alert.firing and alert.resolved, by the catalogue). */
export const alertSubject = events.infra.firing.pattern;

export { Tick };
export { InfraState, initialInfraState, ResolvedAlert } from "./state.ts";

/** The tick command as the catalogue has it (`infra.tick`); any other type is dead-lettered. */
export const TickEnvelope = envelopeOf(events.infra.tick);
export type TickEnvelope = z.infer<typeof TickEnvelope>;

/** The handler over a rule set (the shipped defaults, or a test's). */
export function handleTicks(
  rules: readonly AlertRule[],
  batch: readonly { seq: number; event: TickEnvelope }[],
  previous: InfraState,
): Effects<InfraState> {
  let state = previous;
  const out: OutputEvent[] = [];
  for (const m of batch) {
    const tick = m.event.data;
    if (tick.at <= state.lastAt) continue;
    const { alerts, transitions } = step(rules, state.alerts, tick.samples, tick.at);
    const resolved = [...state.resolved];
    for (const t of transitions) {
      out.push(
        t.kind === "resolved"
          ? outputOf(events.infra.resolved, m.seq, { ...t.alert, state: "resolved", resolvedAt: t.at })
          : outputOf(events.infra.firing, m.seq, { ...t.alert, state: "firing" }),
      );
      if (t.kind === "resolved") resolved.push({ ...t.alert, resolvedAt: t.at });
    }
    const { samples: _series, ...health } = tick;
    state = { alerts, resolved: resolved.slice(-50), health, lastAt: tick.at };
  }
  return { events: out, state };
}

export function infraDefinition(rules: readonly AlertRule[] = defaultRules) {
  return defineFunction<TickEnvelope, InfraState>({
    name: "infra",
    input: TickEnvelope,
    state: { schema: InfraState, initial: initialInfraState },
    tools: (deps) => infraTools(deps),
    background: (deps) => startSchedule(deps),
    handle: (batch, ctx) => handleTicks(rules, batch, ctx.state),
  });
}

export const definition = infraDefinition();
