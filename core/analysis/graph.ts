import { builtinModules } from "node:module";
import { posix } from "node:path";
import type { ImportRef } from "./tokens.ts";

/**
 * The import graph: every file's imports resolved to a module of the analysed set (a repository
 * path), an npm package, a Node built-in, or nothing (unresolved). Resolution follows what tsx and
 * TypeScript's NodeNext resolution accept here: the path as written, `.js`/`.mjs`/`.cjs` written for a
 * TypeScript source, a missing extension, or a folder's `index` file.
 */

export type DependencyType = "local" | "npm" | "core" | "unresolved" | "type-only" | "dynamic";

export interface Dependency {
  /** The importing module (repository path). */
  readonly from: string;
  /** A repository path (local), a package name (`zod`, `@nats-io/kv`), `node:<name>` or the specifier. */
  readonly to: string;
  readonly specifier: string;
  readonly line: number;
  readonly types: readonly DependencyType[];
}

export interface ImportGraph {
  readonly modules: readonly string[];
  readonly dependencies: readonly Dependency[];
  /** Local edges by importer and by imported module. */
  readonly out: ReadonlyMap<string, readonly Dependency[]>;
  readonly in: ReadonlyMap<string, readonly Dependency[]>;
}

const builtins = new Set(builtinModules);
const EXTENSIONS = [".ts", ".tsx", ".mts", ".cts", ".js", ".mjs", ".cjs", ".jsx"];
const JS_TO_TS: Record<string, readonly string[]> = {
  ".js": [".ts", ".tsx"],
  ".mjs": [".mts"],
  ".cjs": [".cts"],
  ".jsx": [".tsx"],
};

function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] as string);
}

/** Resolves one specifier written in `from` against the set of known modules. */
export function resolveSpecifier(
  from: string,
  specifier: string,
  known: ReadonlySet<string>,
): { to: string; type: "local" | "npm" | "core" | "unresolved" } {
  if (specifier.startsWith("node:")) return { to: specifier, type: "core" };
  if (!specifier.startsWith(".") && !specifier.startsWith("/")) {
    const name = packageName(specifier);
    if (builtins.has(name)) return { to: `node:${name}`, type: "core" };
    return { to: name, type: "npm" };
  }
  const base = posix.normalize(posix.join(posix.dirname(from), specifier));
  const candidates: string[] = [base];
  const ext = posix.extname(base);
  for (const alt of JS_TO_TS[ext] ?? []) candidates.push(base.slice(0, -ext.length) + alt);
  for (const e of EXTENSIONS) candidates.push(base + e);
  for (const e of EXTENSIONS) candidates.push(`${base}/index${e}`);
  for (const c of candidates) if (known.has(c)) return { to: c, type: "local" };
  return { to: base, type: "unresolved" };
}

/**
 * Builds the graph of `files` (repository path → its imports). `outside` names modules that exist but
 * are not analysed (the rest of the repository when a folder is analysed): imports of them resolve as
 * local dependencies, without those modules joining the graph.
 */
export function buildGraph(
  files: ReadonlyMap<string, readonly ImportRef[]>,
  outside: readonly string[] = [],
): ImportGraph {
  const known = new Set([...files.keys(), ...outside]);
  const modules = [...files.keys()].sort();
  const dependencies: Dependency[] = [];
  const out = new Map<string, Dependency[]>();
  const inn = new Map<string, Dependency[]>();
  for (const from of modules) {
    for (const ref of files.get(from) ?? []) {
      const r = resolveSpecifier(from, ref.specifier, known);
      const types: DependencyType[] = [r.type];
      if (ref.typeOnly) types.push("type-only");
      if (ref.dynamic) types.push("dynamic");
      const dep: Dependency = { from, to: r.to, specifier: ref.specifier, line: ref.line, types };
      dependencies.push(dep);
      if (r.type === "local") {
        push(out, from, dep);
        push(inn, r.to, dep);
      }
    }
  }
  return { modules, dependencies, out, in: inn };
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [v]);
  else list.push(v);
}

/**
 * Strongly connected components of the local graph (Tarjan, iterative), each sorted, in a
 * deterministic order: a component comes after every component it depends on.
 */
export function components(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let counter = 0;
  const targets = (m: string): string[] => [...new Set((graph.out.get(m) ?? []).map((d) => d.to))].sort();
  for (const root of graph.modules) {
    if (index.has(root)) continue;
    const work: { node: string; next: number; succ: string[] }[] = [];
    const open = (node: string) => {
      index.set(node, counter);
      low.set(node, counter);
      counter++;
      stack.push(node);
      onStack.add(node);
      work.push({ node, next: 0, succ: targets(node) });
    };
    open(root);
    while (work.length > 0) {
      const top = work[work.length - 1] as { node: string; next: number; succ: string[] };
      if (top.next < top.succ.length) {
        const w = top.succ[top.next++] as string;
        if (!index.has(w)) open(w);
        else if (onStack.has(w))
          low.set(top.node, Math.min(low.get(top.node) as number, index.get(w) as number));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) {
        low.set(parent.node, Math.min(low.get(parent.node) as number, low.get(top.node) as number));
      }
      if (low.get(top.node) === index.get(top.node)) {
        const comp: string[] = [];
        let x: string;
        do {
          x = stack.pop() as string;
          onStack.delete(x);
          comp.push(x);
        } while (x !== top.node);
        out.push(comp.sort());
      }
    }
  }
  return out;
}

/** One concrete cycle through the members of a component, starting at its first module. */
export function cycleThrough(graph: ImportGraph, members: readonly string[]): string[] {
  const inside = new Set(members);
  const start = members[0] as string;
  const prev = new Map<string, string>();
  const queue = [start];
  const seen = new Set([start]);
  while (queue.length > 0) {
    const m = queue.shift() as string;
    const next = [...new Set((graph.out.get(m) ?? []).map((d) => d.to))].filter((t) => inside.has(t)).sort();
    for (const t of next) {
      if (t === start) {
        const path = [m];
        let cur = m;
        while (cur !== start) {
          cur = prev.get(cur) as string;
          path.push(cur);
        }
        return path.reverse();
      }
      if (!seen.has(t)) {
        seen.add(t);
        prev.set(t, m);
        queue.push(t);
      }
    }
  }
  return [...members];
}
