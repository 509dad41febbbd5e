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

export function decompose(
  graph: ImportGraph,
  exportsOf: ReadonlyMap<string, readonly string[]>,
  req: DecomposeRequest,
): Decomposition {
  const modules = new Set(graph.modules);
  const seedReason = new Map<string, string>();
  const unknown: string[] = [];
  const seed = (m: string, reason: string) => {
    if (!seedReason.has(m)) seedReason.set(m, reason);
  };
  const byFile = (f: string, why: string): boolean => {
    const path = f.replace(/^\.\//, "");
    if (modules.has(path)) {
      seed(path, why);
      return true;
    }
    const prefix = path.endsWith("/") ? path : `${path}/`;
    const under = graph.modules.filter((m) => m.startsWith(prefix));
    for (const m of under) seed(m, why);
    return under.length > 0;
  };
  const bySymbol = (s: string, why: string): boolean => {
    let found = false;
    for (const m of graph.modules) {
      if ((exportsOf.get(m) ?? []).includes(s)) {
        seed(m, why);
        found = true;
      }
    }
    return found;
  };
  const byAgent = (a: string, why: string): boolean => {
    let found = false;
    for (const folder of agentFolders(a)) {
      for (const m of graph.modules) {
        if (m.startsWith(folder)) {
          seed(m, why);
          found = true;
        }
      }
    }
    return found;
  };
  for (const f of req.files ?? []) if (!byFile(f, `named in the request (file ${f})`)) unknown.push(f);
  for (const s of req.symbols ?? []) if (!bySymbol(s, `exports ${s}, named in the request`)) unknown.push(s);
  for (const a of req.agents ?? [])
    if (!byAgent(a, `belongs to agent ${a}, named in the request`)) unknown.push(a);
  // The request text: paths, then agent names, then exported symbols.
  for (const w of new Set(req.request.match(PATH_WORD) ?? [])) byFile(w, `the request mentions ${w}`);
  const exported = new Set([...exportsOf.values()].flat());
  for (const w of new Set(req.request.match(WORD) ?? [])) {
    if (findAgent(w) !== undefined && w.length > 2) byAgent(w, `the request mentions agent ${w}`);
    else if (exported.has(w) && w.length > 2 && /[A-Z_]/.test(w)) bySymbol(w, `the request mentions ${w}`);
  }

  // Affected: seeds and their transitive importers; why = the first changed module imported.
  const affected = new Map<string, string | undefined>(); // module → the module it was reached from
  const queue = [...seedReason.keys()].sort();
  for (const m of queue) affected.set(m, undefined);
  for (let i = 0; i < queue.length; i++) {
    const m = queue[i] as string;
    const importers = [...new Set((graph.in.get(m) ?? []).map((d) => d.from))].sort();
    for (const imp of importers) {
      if (!affected.has(imp)) {
        affected.set(imp, m);
        queue.push(imp);
      }
    }
  }

  // Steps: components of the affected subgraph, ordered by Kahn with a deterministic choice.
  const sub: ImportGraph = {
    modules: [...affected.keys()].sort(),
    dependencies: [],
    out: new Map(
      [...affected.keys()].map((m) => [m, (graph.out.get(m) ?? []).filter((d) => affected.has(d.to))]),
    ),
    in: new Map(),
  };
  const comps = components(sub);
  const compOf = new Map<string, number>();
  comps.forEach((c, i) => {
    for (const m of c) compOf.set(m, i);
  });
  const kindOf = (c: readonly string[]): TaskKind =>
    c.some((m) => seedReason.has(m)) ? "change" : c.every(isTest) ? "test" : "update";
  const rank: Record<TaskKind, number> = { change: 0, update: 1, test: 2 };
  const needs = comps.map((c, i) => {
    const deps = new Set<number>();
    for (const m of c) for (const d of sub.out.get(m) ?? []) deps.add(compOf.get(d.to) as number);
    deps.delete(i);
    return deps;
  });
  const done = new Map<number, number>(); // component → step
  const tasks: Task[] = [];
  const stepOf = (m: string) => done.get(compOf.get(m) as number);
  while (done.size < comps.length) {
    const ready = comps
      .map((c, i) => ({ c, i }))
      .filter(({ i }) => !done.has(i) && [...(needs[i] as Set<number>)].every((d) => done.has(d)))
      .sort(
        (x, y) => rank[kindOf(x.c)] - rank[kindOf(y.c)] || (x.c[0] as string).localeCompare(y.c[0] as string),
      );
    const next = ready[0];
    if (next === undefined) break; // cannot happen: the component graph is acyclic
    const { c, i } = next;
    const step = tasks.length + 1;
    done.set(i, step);
    const kind = kindOf(c);
    const first = c[0] as string;
    const from = affected.get(first);
    let reason: string;
    if (kind === "change") reason = c.map((m) => seedReason.get(m)).find((r) => r !== undefined) as string;
    else reason = `imports ${from} (step ${from === undefined ? "?" : stepOf(from)})`;
    if (c.length > 1) reason += `; ${c.length} modules import one another (one step)`;
    const { owner, area } = ownerOf(first);
    tasks.push({
      step,
      kind,
      modules: c,
      owner,
      area,
      reason,
      dependsOn: [...(needs[i] as Set<number>)].map((d) => done.get(d) as number).sort((a, b) => a - b),
    });
  }
  return { tasks, unknown, seeds: [...seedReason.keys()].sort() };
}
