import type { ImportGraph } from "./graph.ts";

/**
 * The folder-level picture of an import graph: modules grouped into the parts of the layout (core,
 * the adapters, the service kit, the agents, the trigger, stacks, infra), one arrow per pair of parts
 * that one imports the other, drawn as a mermaid flowchart. docs/architecture.md carries the picture of
 * this repository (core/analysis/architecture-doc.ts writes and checks it).
 */

/** The part of the layout a module belongs to; undefined for tests, test support, bench and tooling. */
export function partOf(path: string): string | undefined {
  if (/\.test\.[cm]?[jt]sx?$/.test(path) || /(^|\/)testing(\/|\.[cm]?ts$)/.test(path)) return undefined;
  const [top, second, third] = path.split("/");
  if (top === "core" || top === "stacks" || top === "infra") return top;
  if (top === "sst.config.ts") return top;
  if (top === "adapters" && third !== undefined) return `adapters/${second}`;
  if (top === "hotpath" && third !== undefined) return second === "kit" ? "hotpath/kit" : "hotpath/‹agent›";
  if (top === "functions" && second !== undefined) return functionsPart(second, third !== undefined);
  return undefined;
}

const SHARED_FUNCTION_FOLDERS = new Set(["trigger", "lambda-host"]);

function functionsPart(second: string, inFolder: boolean): string {
  if (!inFolder) return "functions (local, modules)";
  return SHARED_FUNCTION_FOLDERS.has(second) ? `functions/${second}` : "functions/‹fn›";
}

/** Locale-independent order, so the picture is the same on every machine. */
const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface PartEdge {
  readonly from: string;
  readonly to: string;
  /** Every import behind the arrow is type-only. */
  readonly typeOnly: boolean;
}

/** The arrows between parts (sorted; a part's imports of itself are left out). */
export function partEdges(
  graph: ImportGraph,
  part: (path: string) => string | undefined = partOf,
): PartEdge[] {
  const edges = new Map<string, { from: string; to: string; typeOnly: boolean }>();
  for (const dep of graph.dependencies) {
    if (!dep.types.includes("local")) continue;
    const from = part(dep.from);
    const to = part(dep.to);
    if (from === undefined || to === undefined || from === to) continue;
    const key = `${from}\u0000${to}`;
    const typeOnly = dep.types.includes("type-only");
    const seen = edges.get(key);
    if (seen === undefined) edges.set(key, { from, to, typeOnly });
    else seen.typeOnly &&= typeOnly;
  }
  return [...edges.values()].sort((a, b) => byCodeUnits(a.from, b.from) || byCodeUnits(a.to, b.to));
}

/** A relation that is not an import: a module loaded by its path, a store the parts share. */
export interface RuntimeLink {
  readonly from: string;
  readonly to: string;
  readonly label: string;
}

const nodeId = (name: string) => name.replace(/[^A-Za-z0-9]+/g, "_").replace(/^_|_$/g, "");

/** A store shape for names written `KV …` or `object store …`, a box for the rest. */
function nodeOf(name: string): string {
  const label = JSON.stringify(name);
  return name.startsWith("KV ") || name.startsWith("object store ")
    ? `${nodeId(name)}[(${label})]`
    : `${nodeId(name)}[${label}]`;
}

/**
 * The mermaid flowchart: imports as solid arrows (labelled `types` when only types are imported), the
 * runtime links as dotted arrows with their label. Nodes are declared once, in name order.
 */
export function mermaidOf(edges: readonly PartEdge[], links: readonly RuntimeLink[] = []): string {
  const names = [...new Set([...edges, ...links].flatMap((e) => [e.from, e.to]))].sort();
  const lines = ["flowchart LR", ...names.map((n) => `  ${nodeOf(n)}`)];
  for (const e of edges)
    lines.push(`  ${nodeId(e.from)} ${e.typeOnly ? "-->|types|" : "-->"} ${nodeId(e.to)}`);
  for (const l of links) lines.push(`  ${nodeId(l.from)} -.->|${JSON.stringify(l.label)}| ${nodeId(l.to)}`);
  return lines.join("\n");
}
