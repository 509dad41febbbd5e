import { evaluateGate, GateConditions, type Snapshot } from "../../core/analysis/gate.ts";
import { defineFunction, type Effects, type OutputEvent } from "../../core/functions/contract.ts";
import { events as catalogue } from "../../core/events/catalogue.ts";
import { outputOf } from "../../core/functions/outputs.ts";
import { type GateEvaluated, MAX_ROOTS, QualityInput, QualityState } from "./command.ts";
import { qualityTools } from "./tools.ts";

/**
 * QualityGate: evaluates the gate on new code for each analysis it is fed (see command.ts) and
 * publishes `quality.gate.evaluated` with pass/fail and each condition's value. Pure: the previous
 * analysis of each root travels in the state. Without a coverage report the coverage condition is
 * "not evaluated" (the `evaluate_gate` tool and `bot4 gate --coverage` take one).
 */
const defaults = GateConditions.parse({
  new_duplicated_lines_density: { max: 3, minNewLines: 20 },
  new_layer_violations: { max: 0 },
  new_cycles: { max: 0 },
  new_complex_functions: { max: 0 },
});

export const definition = defineFunction<QualityInput, QualityState>({
  name: "quality",
  input: QualityInput,
  state: { schema: QualityState, initial: () => ({ last: [] }) },
  tools: (deps) => qualityTools(deps),
  handle(batch, ctx): Effects<QualityState> {
    let last = [...ctx.state.last];
    const events: OutputEvent[] = [];
    for (const msg of batch) {
      const e = msg.event;
      let before: Snapshot | undefined;
      let after: Snapshot;
      let against: GateEvaluated["against"];
      let root: string;
      let runId: string;
      let conditions = defaults;
      if (e.kind === "requested") {
        ({ before, after, root } = e.data);
        runId = e.data.runId ?? e.id;
        against = before === undefined ? "none" : "snapshot";
        if (e.data.conditions !== undefined) conditions = e.data.conditions;
      } else {
        ({ root, runId, snapshot: after } = e.data);
        const previous = last.find((l) => l.root === root);
        last = [...last.filter((l) => l.root !== root), { root, runId, snapshot: after }].slice(-MAX_ROOTS);
        if (!e.data.gate && previous === undefined) continue; // nothing asked, nothing to compare
        before = previous?.snapshot ?? e.data.baseline;
        against = previous !== undefined ? "previous_analysis" : before !== undefined ? "baseline" : "none";
      }
      const result = evaluateGate(before, after, { mode: "files" }, conditions);
      const data: GateEvaluated = { runId, root, against, ...result };
      events.push(outputOf(catalogue.quality.evaluated, msg.seq, data));
    }
    return { events, state: { last } };
  },
});
