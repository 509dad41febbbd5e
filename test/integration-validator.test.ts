import { envelopeOf, events as catalogue } from "../core/events/catalogue.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { findAgent, type ServiceAgent } from "../core/agents/manifest.ts";
import type { Bus } from "../adapters/nats/bus.ts";
import { ensureTopology } from "../adapters/nats/topology.ts";
import { quietLogger } from "../core/telemetry/log.ts";
import { createToolRegistry } from "../core/tools/registry.ts";
import { defineTool, describeTool } from "../core/tools/tool.ts";
import { start as startCoordinator } from "../hotpath/coordinator/service.ts";
import { testConfig } from "../hotpath/kit/testing/agent.ts";
import { startService } from "../hotpath/kit/service.ts";
import type { RunningService } from "../hotpath/kit/types.ts";
import { bot4 } from "./cli.ts";
import { eventually, privateNats, testBus } from "./nats.ts";
import { objectStores } from "../core/subjects.ts";
import { startLocalFunctions } from "../functions/local.ts";
import { reportObjectName } from "../functions/integration/run.ts";
import { agreement, classify, judge } from "../functions/integration/checks.ts";
import { generateCases, type JsonSchema } from "../functions/integration/generate.ts";
import { type Outcome, sseAnswer } from "../functions/integration/transports.ts";
import { validateContracts } from "../functions/integration/validator.ts";

const schemaOf = (t: z.ZodType) =>
  describeTool(
    defineTool({ name: "t", description: "", input: t, output: z.object({}), handler: () => ({}) }),
  ).inputSchema as JsonSchema;

describe("an MCP answer as a server-sent event stream", () => {
  it("is the last event whose data is a JSON-RPC response; other events and comments are skipped", () => {
    const stream = [
      ": keep-alive",
      "",
      'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{}}',
      "",
      'event: message\nid: 7\ndata: {"jsonrpc":"2.0","id":3,"result":{"content":[]}}',
      "",
      "",
    ].join("\n");
    expect(sseAnswer(stream)).toEqual({ jsonrpc: "2.0", id: 3, result: { content: [] } });
    expect(sseAnswer("event: message\r\ndata: not json\r\n\r\n")).toBe(
      "event: message\r\ndata: not json\r\n\r\n",
    );
  });
});

describe("the input generator", () => {
  const schema = schemaOf(
    z.object({
      amount: z.number().positive(),
      count: z.number().int().min(1).max(10).optional(),
      symbol: z.string().regex(/^[A-Z0-9]+\/[A-Z0-9]+$/),
      client_order_id: z.string().optional(),
    }),
  );

  it("is deterministic for a seed and differs across seeds", () => {
    const a = generateCases(schema, { seed: 7, max: 40 });
    expect(generateCases(schema, { seed: 7, max: 40 })).toEqual(a);
    expect(generateCases(schema, { seed: 8, max: 40 }).map((c) => c.json)).not.toEqual(a.map((c) => c.json));
  });

  it("proposes valid baselines, the issue's extremes for every number, missing fields, unknown fields and deep nesting", () => {
    const cases = generateCases(schema, { seed: 1, max: 40 });
    const valid = cases.filter((c) => c.kind === "valid");
    expect(valid.length).toBeGreaterThan(0);
    for (const c of valid) expect(classify(schema, c)).toEqual({ valid: true });
    for (const field of ["amount", "count"]) {
      const values = cases
        .filter((c) => c.field === field)
        .map((c) => (JSON.parse(c.json) as Record<string, unknown>)[field]);
      expect(values).toEqual(expect.arrayContaining([1e-320, 1e308, -1e308]));
    }
    expect(cases.some((c) => c.label === "missing:symbol")).toBe(true);
    expect(cases.some((c) => c.label === "unknown-field:clientOrderId")).toBe(true);
    const deep = cases.find((c) => c.kind === "deep");
    expect(deep?.json.length).toBeGreaterThan(2_000);
    expect(() => JSON.parse(deep?.json ?? "")).not.toThrow();
    expect(classify(schema, deep as (typeof cases)[number]).valid).toBe(false);
  });
});

describe("the checks", () => {
  const output = schemaOf(z.object({ x: z.number() }));
  const at = { agent: "a", tool: "t", label: "l" };
  const result = (value: unknown): Outcome => ({ kind: "result", transport: "nats", value });
  const error = (code: number, issues: { path: string; message: string; code?: string }[] = []): Outcome => ({
    kind: "error",
    transport: "http",
    code,
    message: "m",
    issues,
  });

  it("judges each outcome against what the schema says of the input", () => {
    expect(judge({ valid: true }, result({ x: 1 }), output, at)).toEqual([]);
    expect(judge({ valid: true }, error(-32603), output, at)[0]?.check).toBe("not_a_server_error");
    expect(judge({ valid: true }, result({ x: "1" }), output, at)[0]?.check).toBe("output_conforms");
    expect(judge({ valid: true }, error(-32003), output, at)).toEqual([]);
    expect(
      judge({ valid: true }, error(-32602, [{ path: "a", message: "", code: "custom" }]), output, at),
    ).toEqual([]);
    expect(
      judge({ valid: true }, error(-32602, [{ path: "a", message: "", code: "too_big" }]), output, at)[0]
        ?.check,
    ).toBe("valid_input_accepted");
    expect(judge({ valid: false, fields: ["amount"] }, result({ x: 1 }), output, at)[0]?.check).toBe(
      "invalid_input_refused",
    );
    expect(
      judge(
        { valid: false, fields: ["amount"] },
        error(-32602, [{ path: "amount", message: "" }]),
        output,
        at,
      ),
    ).toEqual([]);
    expect(
      judge(
        { valid: false, fields: ["amount"] },
        error(-32602, [{ path: "price", message: "" }]),
        output,
        at,
      )[0]?.detail,
    ).toMatch(/without naming amount/);
    expect(
      judge(
        { valid: false, fields: ["amount"] },
        { kind: "broken", transport: "mcp", message: "HTTP 500" },
        output,
        at,
      )[0]?.check,
    ).toBe("not_a_server_error");
  });

  it("calls answers the same when deterministic ones are equal and time-varying ones have one shape", () => {
    const r = (transport: Outcome["transport"], value: unknown): Outcome => ({
      kind: "result",
      transport,
      value,
    });
    expect(
      agreement(r("http", { a: 1 }), [r("http", { a: 1 })], [r("nats", { a: 1 }), r("mcp", { a: 1 })]),
    ).toBeUndefined();
    expect(agreement(r("http", { a: 1 }), [r("http", { a: 1 })], [r("nats", { a: 2 })])).toMatch(
      /nats answered differently/,
    );
    expect(
      agreement(r("http", { a: 1, t: 5 }), [r("http", { a: 1, t: 6 })], [r("nats", { a: 1, t: 9 })]),
    ).toBeUndefined();
    // What an output schema lets vary over time is no disagreement: an optional key, a null.
    expect(
      agreement(r("http", { a: 1, t: 5 }), [r("http", { a: 1, t: 6 })], [r("rpc", { a: 1, u: null })]),
    ).toBeUndefined();
    expect(agreement(r("http", { a: 1, t: 5 }), [r("http", { a: 1, t: 6 })], [r("rpc", { a: "1" })])).toMatch(
      /different shape/,
    );
    expect(
      agreement(r("http", { a: 1, t: 5 }), [r("http", { a: 1, t: 6 })], [r("rpc", { result: { a: 1 } })]),
    ).toMatch(/different shape/);
    expect(
      agreement(
        r("http", { a: 1 }),
        [r("http", { a: 1 })],
        [{ kind: "error", transport: "mcp", code: -32603, message: "", issues: [] }],
      ),
    ).toMatch(/mcp error -32603/);
  });
});

/**
 * A system with known contract bugs, served by the real kit and coordinator: the validator must find
 * each one, and must never hand a state-changing tool an input that could change anything outside
 * the validation account.
 */

describe("the validator on a system with known bugs", () => {
  let bus: Bus;
  const services: RunningService[] = [];
  const config = testConfig();
  const logger = quietLogger("validator-test");
  const setLimitsCalls: unknown[] = [];
  const submitAccounts: string[] = [];

  beforeAll(async () => {
    const nats = await privateNats();
    bus = await testBus(nats.url);
    await ensureTopology(bus);
    // risk: calculate_kelly squares its input (1e308 → Infinity fails the output schema → -32603), and
    // set_limits (a write tool without an account) accepts unknown fields.
    const risk = createToolRegistry("risk", [
      defineTool({
        name: "calculate_kelly",
        description: "broken on purpose",
        input: z.object({ x: z.number() }),
        output: z.object({ y: z.number().finite() }),
        handler: ({ x }) => ({ y: x * x }),
      }),
      defineTool({
        name: "set_limits",
        description: "lenient on purpose",
        input: z.object({ max_leverage: z.number().min(0.01).max(10) }),
        output: z.object({ ok: z.boolean() }),
        handler: (a) => {
          setLimitsCalls.push(a);
          return { ok: true };
        },
      }),
    ]);
    // exchange: a strict submit_order with an account, which records the account of every call.
    const exchange = createToolRegistry("exchange", [
      defineTool({
        name: "submit_order",
        description: "records accounts",
        input: z
          .object({ account: z.string().min(1).default("default"), amount: z.number().min(1e-12).max(1e9) })
          .strict(),
        output: z.object({ account: z.string() }),
        handler: (a) => {
          submitAccounts.push(a.account);
          return { account: a.account };
        },
      }),
    ]);
    services.push(
      await startService(
        { agent: findAgent("risk") as ServiceAgent, registry: risk },
        { config, bus, logger },
        { port: 0 },
      ),
      await startService(
        { agent: findAgent("exchange") as ServiceAgent, registry: exchange },
        { config, bus, logger },
        { port: 0 },
      ),
      await startCoordinator({ config, bus, logger }, { port: 0 }),
    );
  }, 30_000);

  afterAll(async () => {
    for (const s of services) await s.stop();
  });

  it("finds every planted bug and keeps state-changing calls on the validation account", async () => {
    const report = await validateContracts(bus, { runId: "test-bugs" }, { inputs_per_tool: 40 });
    const found = (agent: string, tool: string, check: string) =>
      report.failures.filter((f) => f.agent === agent && f.tool === tool && f.check === check);
    expect(found("risk", "calculate_kelly", "not_a_server_error").map((f) => f.label)).toContain("x=1e+308");
    expect(found("risk", "set_limits", "unknown_fields_refused")).toHaveLength(1);
    expect(found("risk", "*", "manifest_tools_match")).toHaveLength(1);
    expect(found("exchange", "*", "manifest_tools_match")).toHaveLength(1);
    expect(report.passed).toBe(false);
    // set_limits has no account to pin: only inputs its schema refuses were sent, so it never ran.
    expect(setLimitsCalls).toEqual([]);
    expect(report.tools.find((t) => t.tool === "set_limits")?.withheld).toBeGreaterThan(0);
    // submit_order ran, always on the validation account.
    expect(submitAccounts.length).toBeGreaterThan(0);
    expect(new Set(submitAccounts)).toEqual(new Set(["validation"]));
    // Every transport was used on a service.
    expect(report.tools.find((t) => t.tool === "calculate_kelly")?.transports).toEqual([
      "http",
      "rpc",
      "nats",
      "mcp",
    ]);
    expect(report.totals.inputs).toBeGreaterThan(3 * 20);
  }, 60_000);

  it("bot4 validate exits 1 naming each failure; the run is an event and a stored report; a new agent version is validated on its own", async () => {
    const seen: { type: string; data: { runId: string; trigger: string; passed: boolean } }[] = [];
    const sub = bus.nc.subscribe("events.integration.>");
    void (async () => {
      for await (const m of sub) seen.push(JSON.parse(m.string()));
    })();
    const functions = await startLocalFunctions(
      { config: testConfig({ VALIDATE_ON_REGISTER: "true" }), bus, logger },
      { only: ["integration"] },
    );
    const coordinator = services[services.length - 1] as RunningService;
    try {
      const run = await bot4(["validate", "--agent", "risk", "--url", coordinator.url]);
      const out = run.stdout.split("\n");
      const code = run.code;
      const err = run.stderr.split("\n").filter((l) => l.length > 0);
      expect(err).toEqual([]);
      expect(code).toBe(1);
      expect(out[0]).toMatch(
        /^validation (\S+): 2 tools of 1 agents, \d+ inputs \(50 generated per tool\), [1-9]\d* failures/,
      );
      expect(out.join("\n")).toMatch(/FAIL risk\.calculate_kelly not_a_server_error \[x=1e\+308\]/);
      const runId = /^validation (\S+):/.exec(out[0] ?? "")?.[1] as string;
      // An agent that is not in the manifest, or not running, is refused: a run over nothing would pass.
      const unknown = await bot4(["validate", "--agent", "nosuch", "--url", coordinator.url]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/error -32602: agent: no agent "nosuch" in the manifest/);
      const absent = await bot4(["validate", "--agent", "ledger", "--url", coordinator.url]);
      expect(absent.code).toBe(1);
      expect(absent.stderr).toMatch(/error -32602: agent: no instance of "ledger" is running/);
      // The handler publishes the run (validated, and failed since something failed) and stores it.
      await eventually(
        () => seen.some((e) => e.type === "integration.failed" && e.data.runId === runId) || undefined,
        10_000,
        "integration.failed",
      );
      const stored = await (await bus.objectStore(objectStores.results)).getBlob(reportObjectName(runId));
      expect(JSON.parse(new TextDecoder().decode(stored ?? new Uint8Array()))).toMatchObject({
        runId,
        trigger: "command",
        passed: false,
      });
      // A risk instance of a version not seen at start: the watcher validates risk by itself.
      const risk = createToolRegistry("risk", [
        defineTool({
          name: "calculate_kelly",
          description: "fine",
          input: z.object({ x: z.number().min(-1e6).max(1e6) }).strict(),
          output: z.object({ y: z.number() }),
          handler: ({ x }) => ({ y: x * x }),
        }),
      ]);
      services.unshift(
        await startService(
          { agent: findAgent("risk") as ServiceAgent, registry: risk, version: "9.9.9-validation" },
          { config, bus, logger },
          { port: 0 },
        ),
      );
      const registered = await eventually(
        () => seen.find((e) => e.type === "integration.validated" && e.data.trigger === "registered"),
        30_000,
        "a validation of the new version",
      );
      expect(registered.data.runId).toMatch(/^reg-/);
      // Everything published is its catalogue entry's envelope: the type and data of its schema.
      const entry = {
        "integration.validated": catalogue.integration.validated,
        "integration.failed": catalogue.integration.failed,
      };
      for (const e of seen) {
        const spec = entry[e.type as keyof typeof entry];
        expect(spec, e.type).toBeDefined();
        if (spec !== undefined) expect(envelopeOf(spec).safeParse(e).success, e.type).toBe(true);
      }
    } finally {
      await functions.stop();
      sub.unsubscribe();
    }
  }, 90_000);
});
