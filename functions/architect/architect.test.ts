import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Bus } from "../../adapters/nats/bus.ts";
import { callTool } from "../../adapters/nats/tool-transport.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { envelopeOf, events } from "../../core/events/catalogue.ts";
import { makeEvent } from "../../core/protocol/envelope.ts";
import { RpcCode } from "../../core/protocol/jsonrpc.ts";
import { objectStores, streams } from "../../core/subjects.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { ToolError } from "../../core/tools/errors.ts";
import { eventually, privateNats, testBus } from "../../test/nats.ts";
import { type LocalFunctions, startLocalFunctions } from "../local.ts";
import { readStream, testConfig } from "../trigger/testing.ts";
import { analysisObjectName } from "./command.ts";

/**
 * The architect and the quality gate on a real bus: their tools over NATS (as the coordinator calls
 * them), the analysis command on COMMANDS with its completion event and stored result, and the quality
 * gate fed by that completion event.
 */

const dirs: string[] = [];
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "bot4-architect-bus-"));
  dirs.push(root);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}

const FN = (name: string, k: number) => `export function ${name}(xs: number[]): number {
  let acc = ${k};
  for (const x of xs) {
    if (x > ${k}) {
      acc += x * 2;
    } else {
      acc -= x;
    }
  }
  return acc > 100 ? acc : -acc;
}
`;

const rules = {
  forbidden: [
    { name: "core-independent", from: { path: "^core/" }, to: { path: "^hotpath/" } },
    { name: "no-circular", to: { circular: true } },
  ],
};

let bus: Bus;
let functions: LocalFunctions;
let root: string;

beforeAll(async () => {
  const nats = await privateNats();
  bus = await testBus(nats.url);
  await ensureTopology(bus);
  functions = await startLocalFunctions(
    { config: testConfig({ TRIGGER_MAX_WAIT_MS: "0" }), bus, logger: quietLogger("functions") },
    { only: ["architect", "quality"] },
  );
  root = tree({
    "architect.rules.json": JSON.stringify(rules),
    "core/a.ts": FN("alpha", 1),
    "core/b.ts": `import { h } from "../hotpath/x/h.ts";\n${FN("beta", 1)}export const hb = h;\n`,
    "hotpath/x/h.ts": `import { alpha } from "../../core/a.ts";\nexport const h = alpha([1]);\n`,
    "lib/p.ts": 'import { q } from "./q.ts";\nexport const p = q;\n',
    "lib/q.ts": 'import { p } from "./p.ts";\nexport const q = () => p;\n',
  });
}, 60_000);

afterAll(async () => {
  await functions?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("architect tools over NATS", () => {
  it("runs the five tools and names the agent's functions", () => {
    expect(functions.running).toEqual(["architect", "quality"]);
  });

  it("analyze_code: clones, violations, circles and complexity of a folder", async () => {
    const r = (await callTool(bus, "architect", "analyze_code", { path: root }, { timeout: 30_000 })) as {
      duplicates: { kind: string; a: { file: string }; b: { file: string } }[];
      layer_violations: { rule: string; from: string; to: string; line: number }[];
      cycles: { modules: string[] }[];
      complexity: unknown[];
      timings_ms: Record<string, number>;
      files: number;
    };
    expect(r.files).toBe(5);
    expect(r.duplicates.map((d) => [d.kind, d.a.file, d.b.file])).toEqual([
      ["type1", "core/a.ts", "core/b.ts"],
    ]);
    expect(r.layer_violations.map((v) => [v.rule, v.from, v.to, v.line])).toEqual([
      ["core-independent", "core/b.ts", "hotpath/x/h.ts", 1],
    ]);
    expect(r.cycles.map((c) => c.modules)).toEqual([["lib/p.ts", "lib/q.ts"]]);
    expect(Object.keys(r.timings_ms)).toEqual(
      expect.arrayContaining(["tokenize", "duplicates", "layers", "complexity"]),
    );
  });

  it("find_duplicates, check_layers, complexity_report and decompose_task", async () => {
    const dup = (await callTool(
      bus,
      "architect",
      "find_duplicates",
      { path: root, kinds: ["type2"] },
      { timeout: 30_000 },
    )) as {
      duplicates: unknown[];
    };
    // beta's body is an exact copy of alpha's: reported once, as type 1, not again as type 2.
    expect(dup.duplicates).toEqual([]);
    const layers = (await callTool(
      bus,
      "architect",
      "check_layers",
      { path: root },
      { timeout: 30_000 },
    )) as {
      ok: boolean;
      cycles: unknown[];
    };
    expect(layers.ok).toBe(false);
    expect(layers.cycles).toHaveLength(1);
    // Inline rules in the wire's snake_case: core/b.ts imports hotpath/, unless path_not exempts it.
    const inline = async (from: Record<string, string>) =>
      (
        (await callTool(
          bus,
          "architect",
          "check_layers",
          {
            path: root,
            rules: {
              forbidden: [
                { name: "core-independent", from, to: { path: "^hotpath/", dependency_types: ["local"] } },
              ],
              allowed_severity: "info",
            },
          },
          { timeout: 30_000 },
        )) as { layer_violations: { from: string }[] }
      ).layer_violations.map((v) => v.from);
    expect(await inline({ path: "^core/" })).toEqual(["core/b.ts"]);
    expect(await inline({ path: "^core/", path_not: "^core/b" })).toEqual([]);
    const cx = (await callTool(
      bus,
      "architect",
      "complexity_report",
      { path: root, cognitive: 3 },
      { timeout: 30_000 },
    )) as {
      complexity: { name: string; cognitive: number; cyclomatic: number }[];
    };
    // for +1, if +2 (nesting 1), else +1, ternary +1 = 5; cyclomatic 1 + for + if + ?: = 4.
    expect(cx.complexity.map((f) => [f.name, f.cognitive, f.cyclomatic])).toEqual([
      ["alpha", 5, 4],
      ["beta", 5, 4],
    ]);
    const plan = (await callTool(
      bus,
      "architect",
      "decompose_task",
      { path: root, request: "change alpha", symbols: ["alpha"] },
      { timeout: 30_000 },
    )) as { tasks: { kind: string; modules: string[] }[] };
    expect(plan.tasks.map((t) => [t.kind, t.modules.join(",")])).toEqual([
      ["change", "core/a.ts"],
      ["update", "hotpath/x/h.ts"],
      ["update", "core/b.ts"],
    ]);
  });

  it("refuses a path that does not exist or is outside the allowed folders with -32602 naming path", async () => {
    for (const path of [join(root, "nope"), "/etc"]) {
      const err = await callTool(bus, "architect", "analyze_code", { path }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ToolError);
      expect((err as ToolError).code).toBe(RpcCode.InvalidParams);
      expect(JSON.stringify((err as ToolError).data)).toContain('"path":"path"');
    }
    const bad = await callTool(bus, "architect", "find_duplicates", { path: root, min_tokens: 2 }).catch(
      (e: unknown) => e,
    );
    expect((bad as ToolError).code).toBe(RpcCode.InvalidParams);
    expect(JSON.stringify((bad as ToolError).data)).toContain('"path":"min_tokens"');
  });
});

describe("the analysis command and the quality gate on the bus", () => {
  it("a cmd.architect.analyze command yields a completion event, the stored result and a gate verdict", async () => {
    await bus.publishEvent(
      makeEvent({
        id: "cmd-analyze-1",
        type: events.architect.requested.type,
        source: "test",
        subject: events.architect.requested.pattern,
        data: { runId: "run-1", path: root, gate: true },
      }),
    );
    const done = await eventually(
      async () => {
        const msgs = await readStream(bus, streams.EVENTS.name, events.architect.completed.pattern);
        return msgs.length > 0 ? msgs : undefined;
      },
      30_000,
      "architect.analysis.completed",
    );
    expect(done).toHaveLength(1);
    expect(done[0]?.envelope.type).toBe("architect.analysis.completed");
    // The published envelope is the catalogue entry's: its type, and data of its schema.
    const { data } = envelopeOf(events.architect.completed).parse(done[0]?.envelope);
    expect(data).toMatchObject({
      runId: "run-1",
      duplicates: 1,
      layerViolations: 1,
      cycles: 1,
      resultObject: "architect/run-1.json",
    });
    const store = await bus.objectStore(objectStores.results);
    const blob = await store.getBlob(analysisObjectName("run-1"));
    const stored = JSON.parse(new TextDecoder().decode(blob ?? new Uint8Array())) as {
      duplicates: unknown[];
      runId: string;
    };
    expect(stored.runId).toBe("run-1");
    expect(stored.duplicates).toHaveLength(1);

    // The gate, fed by the completion event: no baseline → everything is new, and it fails.
    const verdicts = await eventually(
      async () => {
        const msgs = await readStream(bus, streams.EVENTS.name, events.quality.evaluated.pattern);
        return msgs.length > 0 ? msgs : undefined;
      },
      30_000,
      "quality.gate.evaluated",
    );
    const v = envelopeOf(events.quality.evaluated).parse(verdicts[0]?.envelope).data;
    expect(v).toMatchObject({ runId: "run-1", against: "none", status: "failed" });
    const byMetric = Object.fromEntries(v.conditions.map((c) => [c.metric, c]));
    expect(byMetric.new_layer_violations).toMatchObject({ status: "error", value: 1 });
    expect(byMetric.new_cycles).toMatchObject({ status: "error", value: 1 });
    expect(byMetric.new_layer_violations?.failures[0]).toMatchObject({ file: "core/b.ts", line: 1 });

    // A second analysis of the same tree, unchanged: compared with the first, nothing is new.
    await bus.publishEvent(
      makeEvent({
        id: "cmd-analyze-2",
        type: events.architect.requested.type,
        source: "test",
        subject: events.architect.requested.pattern,
        data: { runId: "run-2", path: root },
      }),
    );
    const second = await eventually(
      async () => {
        const msgs = await readStream(bus, streams.EVENTS.name, events.quality.evaluated.pattern);
        return msgs.length > 1 ? msgs : undefined;
      },
      30_000,
      "second verdict",
    );
    const v2 = envelopeOf(events.quality.evaluated).parse(second[1]?.envelope).data;
    expect(v2).toMatchObject({
      runId: "run-2",
      against: "previous_analysis",
      status: "passed",
      newIssues: 0,
    });
    expect(v2.newCode).toEqual({ mode: "files", files: 0, lines: 0 });
  });

  it("a command naming a missing path yields architect.analysis.failed", async () => {
    await bus.publishEvent(
      makeEvent({
        id: "cmd-analyze-bad",
        type: events.architect.requested.type,
        source: "test",
        subject: events.architect.requested.pattern,
        data: { runId: "run-bad", path: join(root, "missing") },
      }),
    );
    const failed = await eventually(
      async () => {
        const msgs = await readStream(bus, streams.EVENTS.name, events.architect.failed.pattern);
        return msgs.length > 0 ? msgs : undefined;
      },
      30_000,
      "architect.analysis.failed",
    );
    expect(envelopeOf(events.architect.failed).parse(failed[0]?.envelope).data).toMatchObject({
      runId: "run-bad",
    });
  });

  it("evaluate_gate over NATS compares two snapshots", async () => {
    const before = { version: 1, files: { "a.ts": { sha: "1", lines: 10 } }, issues: [] };
    const after = {
      version: 1,
      files: { "a.ts": { sha: "2", lines: 40 } },
      issues: [
        {
          kind: "complexity",
          fingerprint: "complexity:cognitive:a.ts:f",
          file: "a.ts",
          line: 3,
          message: "f: cognitive complexity 20 > 15",
          value: 20,
        },
      ],
    };
    const r = (await callTool(bus, "quality", "evaluate_gate", { before, after })) as {
      status: string;
      conditions: {
        metric: string;
        status: string;
        value: number;
        failures: { file: string; line: number }[];
      }[];
    };
    expect(r.status).toBe("failed");
    const cx = r.conditions.find((c) => c.metric === "new_complex_functions");
    expect(cx).toMatchObject({ status: "error", value: 1, failures: [{ file: "a.ts", line: 3 }] });
    const bad = await callTool(bus, "quality", "evaluate_gate", { after: { version: 2 } }).catch(
      (e: unknown) => e,
    );
    expect((bad as ToolError).code).toBe(RpcCode.InvalidParams);
  });
});
