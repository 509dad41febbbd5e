import { describe, expect, it } from "vitest";
import { manifest } from "../core/agents/manifest.ts";
import { loadConfig } from "../core/config.ts";
import { describeTool, type Tool } from "../core/tools/tool.ts";
import { loadFunction } from "../functions/modules.ts";
import { coordinatorTools } from "../hotpath/coordinator/tools.ts";
import { exchangeTools } from "../hotpath/exchange/tools.ts";
import { inferenceTools } from "../hotpath/inference/tools.ts";
import { riskTools } from "../hotpath/risk/tools.ts";
import { strategyTools } from "../hotpath/strategy/tools.ts";

/**
 * One wire convention (issue 18.4): every property name in every tool's input and output JSON Schema,
 * on every agent of the manifest, is snake_case. The tools are built by the agents' own factories (the
 * services') and the functions' definitions, with dependencies that are never called: building a tool
 * and describing its schemas does no I/O. The walk covers properties, items, prefixItems,
 * anyOf/oneOf/allOf, not, additionalProperties and $defs.
 */
const SNAKE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
/** `check_layers` takes the rules file as it is on disk, whose `$schema` names its JSON Schema. */
const JSON_SCHEMA_KEYWORDS = new Set(["$schema"]);

/** A dependency no factory calls while building its tools: every property is another stub. */
function stub(): never {
  const target = () => undefined;
  const handler: ProxyHandler<typeof target> = {
    get: (_t, p) => (p === "then" ? undefined : p === Symbol.toPrimitive ? () => 1 : stub()),
    apply: () => stub(),
  };
  return new Proxy(target, handler) as never;
}

type Schema = Record<string, unknown>;
const isSchema = (v: unknown): v is Schema => typeof v === "object" && v !== null && !Array.isArray(v);

type Offender = { path: string; key: string };

function propertyOffenders(properties: Schema, path: string, out: Offender[]): void {
  for (const [key, sub] of Object.entries(properties)) {
    if (!SNAKE.test(key) && !JSON_SCHEMA_KEYWORDS.has(key)) out.push({ path: `${path}.${key}`, key });
    offenders(sub, `${path}.${key}`, out);
  }
}

function offenders(schema: unknown, path: string, out: Offender[]): void {
  if (Array.isArray(schema)) {
    for (const [i, s] of schema.entries()) offenders(s, `${path}[${i}]`, out);
    return;
  }
  if (!isSchema(schema)) return;
  if (isSchema(schema.properties)) propertyOffenders(schema.properties, path, out);
  for (const k of ["items", "prefixItems", "anyOf", "oneOf", "allOf", "not", "additionalProperties"])
    if (schema[k] !== undefined) offenders(schema[k], `${path}/${k}`, out);
  const defs = isSchema(schema.$defs) ? Object.entries(schema.$defs) : [];
  for (const [name, sub] of defs) offenders(sub, `${path}/$defs/${name}`, out);
}

async function toolsOf(agent: (typeof manifest)[number]): Promise<readonly Tool[]> {
  const config = loadConfig({});
  switch (agent.name) {
    case "coordinator":
      return coordinatorTools(stub()) as Tool[];
    case "risk":
      return riskTools(config, stub());
    case "inference":
      return inferenceTools({ engine: stub(), store: stub(), marketData: stub() });
    case "exchange":
      return exchangeTools(stub());
    case "strategy":
      return strategyTools(stub());
  }
  const definition = await loadFunction(agent.name);
  if (definition === undefined) throw new Error(`no tools found for agent ${agent.name}`);
  return definition.tools({ name: agent.name, config, logger: stub(), state: stub(), bus: stub() } as never);
}

describe("every tool's schema is snake_case", () => {
  it("builds every tool the manifest lists, on every agent", async () => {
    for (const agent of manifest) {
      const names = (await toolsOf(agent)).map((t) => t.name).sort();
      expect({ agent: agent.name, tools: names }).toEqual({
        agent: agent.name,
        tools: Object.keys(agent.tools).sort(),
      });
    }
  });

  it("names every property of every input and output in snake_case", async () => {
    const found: string[] = [];
    for (const agent of manifest) {
      for (const tool of await toolsOf(agent)) {
        const d = describeTool(tool);
        const out: Offender[] = [];
        offenders(d.inputSchema, "input", out);
        offenders(d.outputSchema, "output", out);
        for (const o of out) found.push(`${agent.name}.${tool.name} ${o.path}`);
      }
    }
    expect(found).toEqual([]);
  });
});
