import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { manifest } from "../../core/agents/manifest.ts";
import { MONITORING_PATHS } from "../../infra/monitoring/render.ts";
import { readYaml } from "../../infra/monitoring/yaml-read.ts";
import { derive, newMemory, quantile, type RawObservation } from "./derive.ts";
import { parsePrometheusText } from "./promtext.ts";
import {
  AlertRule,
  type AlertState,
  defaultRules,
  durationMs,
  parseExpr,
  step,
  type Transition,
} from "./rules.ts";

const root = new URL("../../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");
const fixture = (name: string) => read(`functions/infra/fixtures/${name}`);

/** Two scrapes of the coordinator's /metrics recorded from `npm start`: between them 20 calls to risk
 * and 10 to an agent that was not running (outcome "unavailable"). */
const scrapeA = fixture("coordinator-1.prom");
const scrapeB = fixture("coordinator-2.prom");

/** Independent of derive.ts: sums the call counters of a recorded scrape with a regex. */
function calls(text: string, outcomes?: readonly string[]): number {
  let n = 0;
  for (const m of text.matchAll(/^bot4_tool_calls_total\{[^}]*outcome="([a-z_]+)"[^}]*\} (\d+)/gm)) {
    if (outcomes === undefined || outcomes.includes(m[1] as string)) n += Number(m[2]);
  }
  return n;
}

function observation(
  at: number,
  metrics: string | undefined,
  extra: Partial<RawObservation> = {},
): RawObservation {
  return {
    at,
    instances:
      metrics === undefined
        ? []
        : [
            {
              agent: "coordinator",
              instanceId: "c1",
              version: "0.1.0",
              kind: "service",
              url: "http://x",
              ageMs: 100,
            },
          ],
    scrapes:
      metrics === undefined
        ? []
        : [{ agent: "coordinator", instanceId: "c1", ok: true, samples: parsePrometheusText(metrics) }],
    streams: [{ name: "DLQ", messages: 0, bytes: 0, consumers: 0 }],
    consumers: [],
    storage: { used: 10, limit: 100 },
    nats: null,
    ...extra,
  };
}

/** Evaluates the rules every 5 s over `frames` (each a sample set) and collects the transitions. */
function run(frames: readonly { at: number; samples: ReturnType<typeof derive>["samples"] }[]) {
  let alerts: Record<string, AlertState> = {};
  const transitions: Transition[] = [];
  for (const f of frames) {
    const r = step(defaultRules, alerts, f.samples, f.at);
    alerts = r.alerts;
    transitions.push(...r.transitions);
  }
  return { alerts, transitions };
}

describe("alert rules", () => {
  it("the generated Prometheus rules file is the rule set the InfraEngineer evaluates", () => {
    const doc = readYaml(read(MONITORING_PATHS.rules)) as { groups: { name: string; rules: unknown[] }[] };
    expect(doc.groups).toHaveLength(1);
    const rules = (doc.groups[0]?.rules ?? []).map((r) => AlertRule.parse(r));
    expect(rules).toEqual(defaultRules);
    const names = rules.map((r) => r.alert);
    for (const required of [
      "AgentDown",
      "ConsumerLagGrowing",
      "DeadLettersPresent",
      "ToolErrorRate",
      "ToolLatencyOverSlo",
      "EventLoopLag",
      "JetStreamStorage",
    ]) {
      expect(names).toContain(required);
    }
    for (const r of rules) {
      expect(() => parseExpr(r.expr)).not.toThrow();
      expect(r.annotations.runbook.length).toBeGreaterThan(10);
    }
  });

  it("the Prometheus scrape config has every service agent and every trigger shard", () => {
    const doc = readYaml(read(MONITORING_PATHS.prometheus)) as {
      rule_files: string[];
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const jobs = doc.scrape_configs.map((j) => j.job_name);
    for (const a of manifest) if (a.kind === "service") expect(jobs).toContain(a.name);
    const triggers = doc.scrape_configs.find((j) => j.job_name === "triggers");
    expect(triggers?.static_configs.map((s) => s.targets[0])).toEqual(
      manifest.filter((a) => a.kind === "function").map((f) => `trigger-${f.name}:9100`),
    );
    const overlay = readYaml(read(MONITORING_PATHS.overlay)) as {
      services: Record<string, { ports: string[] }>;
    };
    expect(overlay.services.prometheus?.ports).toEqual(["9090:9090"]);
    expect(overlay.services.grafana?.ports).toEqual(["3001:3000"]);
    const dashboard = JSON.parse(read(MONITORING_PATHS.dashboard)) as {
      panels: { targets: { expr: string }[] }[];
    };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    for (const r of defaultRules) expect(exprs).toContain(parseExpr(r.expr).metric);
  });

  it("parses the recorded /metrics text", () => {
    const samples = parsePrometheusText(scrapeB);
    const lines = scrapeB.split("\n").filter((l) => l.length > 0 && !l.startsWith("#"));
    expect(samples).toHaveLength(lines.length);
    expect(samples.find((s) => s.labels.le === "+Inf")?.value).toBeGreaterThan(0);
    expect(parsePrometheusText('x{a="q\\"u\\\\o\\nte"} +Inf\n')).toEqual([
      { name: "x", labels: { a: 'q"u\\o\nte' }, value: Number.POSITIVE_INFINITY },
    ]);
  });

  it("tool error rate from the recorded scrapes: pending, firing after `for`, resolved after keep_firing_for, once each", () => {
    const memory = newMemory();
    const t0 = 1_800_000_000_000;
    derive(observation(t0, scrapeA), memory);
    const d = derive(observation(t0 + 5_000, scrapeB), memory);
    const failing = ["error", "timeout", "unavailable"];
    const expected = (calls(scrapeB, failing) - calls(scrapeA, failing)) / (calls(scrapeB) - calls(scrapeA));
    expect(expected).toBeGreaterThan(0.05);
    const ratio = d.samples.find(
      (s) => s.name === "bot4_infra_tool_error_ratio" && s.labels.agent === "coordinator",
    );
    expect(ratio?.value).toBeCloseTo(expected, 12);
    const rule = defaultRules.find((r) => r.alert === "ToolErrorRate") as AlertRule;
    // The failure rate holds for 90 s, then the agent is quiet (no ratio: too few calls).
    const quiet = derive(observation(t0 + 10_000, scrapeB), memory).samples;
    const frames = [];
    for (let t = 5_000; t <= 95_000; t += 5_000) frames.push({ at: t0 + t, samples: d.samples });
    for (let t = 100_000; t <= 400_000; t += 5_000) frames.push({ at: t0 + t, samples: quiet });
    const { transitions, alerts } = run(frames);
    const mine = transitions.filter((x) => x.alert.alert === "ToolErrorRate");
    expect(mine.map((x) => x.kind)).toEqual(["firing", "resolved"]);
    expect((mine[0] as Transition).at - (t0 + 5_000)).toBe(durationMs(rule.for));
    expect((mine[1] as Transition).at - (t0 + 95_000)).toBe(durationMs(rule.keep_firing_for));
    expect((mine[0] as Transition).alert.summary).toContain("coordinator");
    expect(Object.values(alerts).filter((a) => a.alert === "ToolErrorRate")).toEqual([]);
  });

  it("agent down fires after `for` once the agent leaves the registry, and resolves when it is back", () => {
    const memory = newMemory();
    const t0 = 1_800_000_000_000;
    const frames = [];
    for (let t = 0; t <= 60_000; t += 5_000) {
      const up = t < 20_000 || t >= 45_000;
      frames.push({
        at: t0 + t,
        samples: derive(observation(t0 + t, up ? scrapeA : undefined), memory).samples,
      });
    }
    const { transitions } = run(frames);
    const down = transitions.filter((x) => x.alert.alert === "AgentDown");
    expect(down.map((x) => [x.kind, x.at - t0, x.alert.labels.agent])).toEqual([
      ["firing", 30_000, "coordinator"],
      ["resolved", 45_000, "coordinator"],
    ]);
  });

  it("DLQ not empty and JetStream storage use the recorded stream state", () => {
    const memory = newMemory();
    const t0 = 1_800_000_000_000;
    const frames = [];
    for (let t = 0; t <= 600_000; t += 5_000) {
      const o = observation(t0 + t, scrapeA, {
        streams: [{ name: "DLQ", messages: t >= 10_000 ? 3 : 0, bytes: 0, consumers: 0 }],
        storage: { used: 90, limit: 100 },
      });
      frames.push({ at: t0 + t, samples: derive(o, memory).samples });
    }
    const { transitions } = run(frames);
    const fired = transitions.filter((x) => x.kind === "firing").map((x) => [x.alert.alert, x.at - t0]);
    expect(fired).toContainEqual(["DeadLettersPresent", 10_000]);
    expect(fired).toContainEqual(["JetStreamStorage", 300_000]);
  });

  it("histogram_quantile interpolates inside the bucket", () => {
    const buckets = new Map([
      [0.1, 50],
      [0.2, 100],
      [Number.POSITIVE_INFINITY, 100],
    ]);
    // rank 99 lies 49/50 of the way through the (0.1, 0.2] bucket.
    expect(quantile(0.99, buckets)).toBeCloseTo(0.1 + 0.1 * (49 / 50), 12);
    expect(quantile(0.5, new Map([[Number.POSITIVE_INFINITY, 0]]))).toBeUndefined();
  });
});
