import { findAgent, manifest } from "../agents/manifest.ts";
import { components, type ImportGraph } from "./graph.ts";

/**
 * Task decomposition from the import graph (the algorithm, also in docs/architect.md):
 *   1. seeds: the files named (a folder names every module under it), the modules that export a named
 *      symbol, the modules of a named agent (`hotpath/<agent>/`, `functions/<agent>/`); words of the
 *      request text that are paths, agent names or aliases, or exported symbols count the same;
 *   2. affected: the seeds and every module that imports one of them, transitively (reverse edges,
 *      type-only imports included, since a changed type breaks its importers at compile time);
 *   3. order: the affected subgraph's strongly connected components (an import circle is one step),
 *      then Kahn's algorithm — a step is ready when every affected module it imports is done — taking
 *      among the ready steps changes first, then updates, then tests, then by path. Dependencies come
 *      before dependents and the same input always gives the same list;
 *   4. each step names its kind (change: a seed; update: imports something changed; test: a test
 *      file), the reason (what named it, or the first changed module it imports and that module's
 *      step), the steps it waits for and the agent that owns it (the manifest agent whose folder holds
 *      it; `infra/` and `stacks/` belong to the infra agent; shared code has no owner).
 */

export interface DecomposeRequest {
  readonly request: string;
  readonly files?: readonly string[];
  readonly symbols?: readonly string[];
  readonly agents?: readonly string[];
}

export type TaskKind = "change" | "update" | "test";

export interface Task {
  readonly step: number;
  readonly kind: TaskKind;
  readonly modules: readonly string[];
  /** The owning manifest agent, or null for shared code (core, kit, trigger, tests, bench). */
  readonly owner: string | null;
  /** Where the modules live (`core`, `hotpath/kit`, `functions/trigger`, `infra`, `test`, …). */
  readonly area: string;
  readonly reason: string;
  readonly dependsOn: readonly number[];
}

export interface Decomposition {
  readonly tasks: readonly Task[];
  /** Files, symbols and agents named but not found. */
  readonly unknown: readonly string[];
  readonly seeds: readonly string[];
}

const isTest = (m: string) => /\.test\.[cm]?[jt]sx?$/.test(m) || m.startsWith("test/");

/** The manifest agent that owns a module, and the module's area. */
export function ownerOf(module: string): { owner: string | null; area: string } {
  const [top, second] = module.split("/");
  if (
    (top === "hotpath" || top === "functions") &&
    second !== undefined &&
    module.includes("/", top.length + 1)
  ) {
    const agent = manifest.find((a) => a.name === second);
    return { owner: agent?.name ?? null, area: `${top}/${second}` };
  }
  if (top === "infra" || top === "stacks") return { owner: "infra", area: top };
  return { owner: null, area: module.includes("/") ? (top as string) : "." };
}

function agentFolders(name: string): string[] {
  const agent = findAgent(name);
  if (agent === undefined) return [];
  return [`hotpath/${agent.name}/`, `functions/${agent.name}/`];
}

const PATH_WORD = /[A-Za-z0-9_.@-]+(?:\/[A-Za-z0-9_.@-]+)+\/?|[A-Za-z0-9_.-]+\.[cm]?[jt]sx?/g;
const WORD = /[A-Za-z_$][A-Za-z0-9_$]*/g;

/** Step 1: the seeds, each with the reason it is one; names found nowhere in `unknown`. */
function seedsOf(
  graph: ImportGraph,
  exportsOf: ReadonlyMap<string, readonly string[]>,
  req: DecomposeRequest,
): { reasons: Map<string, string>; unknown: string[] } {
  const modules = new Set(graph.modules);
  const reasons = new Map<string, string>();
  const seed = (ms: readonly string[], why: string): boolean => {
    for (const m of ms) if (!reasons.has(m)) reasons.set(m, why);
    return ms.length > 0;
  };
  const byFile = (f: string) => {
    const path = f.replace(/^\.\//, "");
    if (modules.has(path)) return [path];
    const prefix = path.endsWith("/") ? path : `${path}/`;
    return graph.modules.filter((m) => m.startsWith(prefix));
  };
  const bySymbol = (name: string) => graph.modules.filter((m) => (exportsOf.get(m) ?? []).includes(name));
  const byAgent = (a: string) => {
    const folders = agentFolders(a);
    return graph.modules.filter((m) => folders.some((f) => m.startsWith(f)));
  };
  const unknown: string[] = [];
  for (const f of req.files ?? []) if (!seed(byFile(f), `named in the request (file ${f})`)) unknown.push(f);
  for (const x of req.symbols ?? [])
    if (!seed(bySymbol(x), `exports ${x}, named in the request`)) unknown.push(x);
  for (const a of req.agents ?? [])
    if (!seed(byAgent(a), `belongs to agent ${a}, named in the request`)) unknown.push(a);
  // The request text: paths, then agent names, then exported symbols (with a capital or `_`).
  for (const w of new Set(req.request.match(PATH_WORD) ?? [])) seed(byFile(w), `the request mentions ${w}`);
  const exported = new Set([...exportsOf.values()].flat());
  for (const w of new Set(req.request.match(WORD) ?? [])) {
    if (w.length <= 2) continue;
    if (findAgent(w) !== undefined) seed(byAgent(w), `the request mentions agent ${w}`);
    else if (exported.has(w) && /[A-Z_]/.test(w)) seed(bySymbol(w), `the request mentions ${w}`);
  }
  return { reasons, unknown };
}

/** Step 2: the seeds and their transitive importers, each with the module it was reached from. */
function affectedOf(graph: ImportGraph, seeds: readonly string[]): Map<string, string | undefined> {
  const affected = new Map<string, string | undefined>();
  const queue = [...seeds].sort();
  for (const m of queue) affected.set(m, undefined);
  for (let i = 0; i < queue.length; i++) {
    const m = queue[i] as string;
    for (const imp of [...new Set((graph.in.get(m) ?? []).map((d) => d.from))].sort()) {
      if (affected.has(imp)) continue;
      affected.set(imp, m);
      queue.push(imp);
    }
  }
  return affected;
}

const rank: Record<TaskKind, number> = { change: 0, update: 1, test: 2 };

/** Step 3: the components of the affected subgraph and what each waits for. */
function stepsOf(graph: ImportGraph, affected: ReadonlyMap<string, string | undefined>) {
  const out = new Map(
    [...affected.keys()].map((m) => [m, (graph.out.get(m) ?? []).filter((d) => affected.has(d.to))]),
  );
  const sub: ImportGraph = { modules: [...affected.keys()].sort(), dependencies: [], out, in: new Map() };
  const comps = components(sub);
  const compOf = new Map<string, number>();
  comps.forEach((c, i) => {
    for (const m of c) compOf.set(m, i);
  });
  const needs = comps.map((c, i) => {
    const deps = new Set(c.flatMap((m) => (out.get(m) ?? []).map((d) => compOf.get(d.to) as number)));
    deps.delete(i);
    return deps;
  });
  return { comps, compOf, needs };
}

export function decompose(
  graph: ImportGraph,
  exportsOf: ReadonlyMap<string, readonly string[]>,
  req: DecomposeRequest,
): Decomposition {
  const { reasons, unknown } = seedsOf(graph, exportsOf, req);
  const affected = affectedOf(graph, [...reasons.keys()]);
  const { comps, compOf, needs } = stepsOf(graph, affected);
  const kindOf = (c: readonly string[]): TaskKind => {
    if (c.some((m) => reasons.has(m))) return "change";
    return c.every(isTest) ? "test" : "update";
  };
  const done = new Map<number, number>(); // component → step
  const isReady = (i: number) => !done.has(i) && [...(needs[i] as Set<number>)].every((d) => done.has(d));
  const byChoice = (x: number, y: number) =>
    rank[kindOf(comps[x] as string[])] - rank[kindOf(comps[y] as string[])] ||
    ((comps[x] as string[])[0] as string).localeCompare((comps[y] as string[])[0] as string);
  const reasonOf = (c: readonly string[], kind: TaskKind): string => {
    if (kind === "change") return c.map((m) => reasons.get(m)).find((r) => r !== undefined) as string;
    const from = affected.get(c[0] as string);
    const step = from === undefined ? "?" : done.get(compOf.get(from) as number);
    return `imports ${from} (step ${step})`;
  };
  const tasks: Task[] = [];
  for (let next = comps.findIndex((_, i) => isReady(i)); next !== -1; ) {
    const i = comps
      .map((_, k) => k)
      .filter(isReady)
      .sort(byChoice)[0] as number;
    const c = comps[i] as string[];
    done.set(i, tasks.length + 1);
    const kind = kindOf(c);
    const circle = c.length > 1 ? `; ${c.length} modules import one another (one step)` : "";
    tasks.push({
      step: tasks.length + 1,
      kind,
      modules: c,
      ...ownerOf(c[0] as string),
      reason: reasonOf(c, kind) + circle,
      dependsOn: [...(needs[i] as Set<number>)].map((d) => done.get(d) as number).sort((a, b) => a - b),
    });
    next = comps.findIndex((_, k) => isReady(k));
  }
  return { tasks, unknown, seeds: [...reasons.keys()].sort() };
}
