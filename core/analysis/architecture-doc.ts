import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { kvBuckets } from "../subjects.ts";
import { graphOf, tokenizeSources } from "./analyze.ts";
import { mermaidOf, partEdges, partOf, type RuntimeLink } from "./folder-graph.ts";
import type { ImportGraph } from "./graph.ts";
import { readSources } from "./workspace.ts";

/**
 * The dependency picture of docs/architecture.md, drawn from the repository's real imports (the
 * architect's import graph, grouped by core/analysis/folder-graph.ts) plus the relations that are not
 * imports: modules loaded by their path, and the function-state KV bucket. `npm run docs:graph` writes
 * it into the doc; architecture-doc.test.ts fails when the doc's picture differs from the code's.
 */

export const ARCHITECTURE_DOC = "docs/architecture.md";
export const PICTURE_BEGIN =
  "<!-- dependency picture: generated from the imports by `npm run docs:graph` -->";
export const PICTURE_END = "<!-- end of the generated dependency picture -->";

/** Modules loaded by a path computed at run time: the loader's file, what it loads, and the part loaded. */
export const LOADS_BY_PATH = [
  { loader: "functions/modules.ts", to: "functions/‹fn›", what: "function.ts, handler.ts" },
  { loader: "infra/local/system.ts", to: "hotpath/‹agent›", what: "service.ts" },
  { loader: "infra/docker/entry.ts", to: "hotpath/‹agent›", what: "service.ts" },
] as const;

const STATE_STORE = "core/functions/state-store.ts";

/** The links that are not imports; throws when a declared loader no longer loads by path. */
export function runtimeLinks(root: string, graph: ImportGraph): RuntimeLink[] {
  const links: RuntimeLink[] = [];
  const seen = new Set<string>();
  for (const l of LOADS_BY_PATH) {
    const text = readFileSync(join(root, l.loader), "utf8");
    if (!/await import\(\s*pathToFileURL\(/.test(text))
      throw new Error(`${l.loader} no longer loads ${l.what} by path: update LOADS_BY_PATH`);
    const from = partOf(l.loader) as string;
    const key = `${from} ${l.to}`;
    if (seen.has(key)) continue;
    seen.add(key);
    links.push({ from, to: l.to, label: `loads ${l.what} by path` });
  }
  const kv = `KV ${kvBuckets.functionState.bucket}`;
  const users = new Set((graph.in.get(STATE_STORE) ?? []).map((d) => partOf(d.from)));
  users.add("core");
  for (const from of [...users].filter((u): u is string => u !== undefined).sort())
    links.push({ from, to: kv, label: from === "core" ? "state store (CAS)" : "function state" });
  return links;
}

/** The mermaid block of the repository at `root`, fenced. */
export function dependencyPicture(root: string): string {
  const graph = graphOf(tokenizeSources(readSources(root)));
  return ["```mermaid", mermaidOf(partEdges(graph), runtimeLinks(root, graph)), "```"].join("\n");
}

/** The doc with its picture replaced (the markers must be there, once each). */
export function withPicture(doc: string, picture: string): string {
  const begin = doc.indexOf(PICTURE_BEGIN);
  const end = doc.indexOf(PICTURE_END);
  if (begin < 0 || end < begin) throw new Error(`${ARCHITECTURE_DOC} lacks the picture's markers`);
  return `${doc.slice(0, begin + PICTURE_BEGIN.length)}\n${picture}\n${doc.slice(end)}`;
}

/** `tsx core/analysis/architecture-doc.ts [root]`: rewrites the picture in docs/architecture.md. */
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? ".");
  const file = join(root, ARCHITECTURE_DOC);
  const doc = readFileSync(file, "utf8");
  const next = withPicture(doc, dependencyPicture(root));
  if (next !== doc) writeFileSync(file, next);
  console.log(next === doc ? `${ARCHITECTURE_DOC}: picture current` : `${ARCHITECTURE_DOC}: picture written`);
}
