import { z } from "zod";
import { components, cycleThrough, type Dependency, type ImportGraph } from "./graph.ts";

/**
 * Layer rules over the import graph, in dependency-cruiser's model:
 *   - `forbidden`: a dependency that matches a rule's `from` and `to` is a violation (a `to` with
 *     `circular: true` matches dependencies inside an import circle; a `from` with `orphan: true`
 *     matches modules with no dependency in or out);
 *   - `allowed`: when present, a local dependency that matches none of them is a violation
 *     (`not-in-allowed`, severity `allowedSeverity`);
 *   - `required`: every module matching `module` must depend on at least one module matching `to`.
 * Paths are regular expressions over repository paths (or package names, `node:<name>` for built-ins).
 * In `to.path` / `to.pathNot`, `$1`…`$9` stand for the groups `from.path` captured.
 */

const Regex = z
  .string()
  .max(2_000)
  .refine(
    (s) => {
      try {
        new RegExp(s);
        return true;
      } catch {
        return false;
      }
    },
    { message: "not a valid regular expression" },
  );

export const DependencyTypeName = z.enum(["local", "npm", "core", "unresolved", "type-only", "dynamic"]);
const Severity = z.enum(["error", "warn", "info"]);

const FromCondition = z
  .object({ path: Regex.optional(), pathNot: Regex.optional(), orphan: z.boolean().optional() })
  .strict();
const ToCondition = z
  .object({
    path: Regex.optional(),
    pathNot: Regex.optional(),
    circular: z.boolean().optional(),
    dependencyTypes: z.array(DependencyTypeName).max(6).optional(),
    dependencyTypesNot: z.array(DependencyTypeName).max(6).optional(),
  })
  .strict();
const PathCondition = z.object({ path: Regex.optional(), pathNot: Regex.optional() }).strict();

const Name = z.string().regex(/^[a-z0-9][a-z0-9-]{0,79}$/, "kebab-case, at most 80 characters");

export const ForbiddenRule = z
  .object({
    name: Name,
    severity: Severity.default("error"),
    comment: z.string().max(1_000).optional(),
    from: FromCondition.default({}),
    to: ToCondition.default({}),
  })
  .strict();
export const AllowedRule = z
  .object({
    comment: z.string().max(1_000).optional(),
    from: FromCondition.default({}),
    to: ToCondition.default({}),
  })
  .strict();
export const RequiredRule = z
  .object({
    name: Name,
    severity: Severity.default("error"),
    comment: z.string().max(1_000).optional(),
    module: PathCondition,
    to: PathCondition,
  })
  .strict();

export const RulesFile = z
  .object({
    $schema: z.string().optional(),
    comment: z.string().max(2_000).optional(),
    forbidden: z.array(ForbiddenRule).max(500).default([]),
    allowed: z.array(AllowedRule).max(500).default([]),
    allowedSeverity: Severity.default("warn"),
    required: z.array(RequiredRule).max(500).default([]),
  })
  .strict();
export type RulesFile = z.infer<typeof RulesFile>;
export type RulesFileInput = z.input<typeof RulesFile>;

export interface LayerViolation {
  readonly rule: string;
  readonly severity: "error" | "warn" | "info";
  readonly from: string;
  /** The imported module or package (for orphans and required rules, the module itself). */
  readonly to: string;
  readonly line: number;
  readonly message: string;
  /** Stable across line moves: rule, from, to. */
  readonly fingerprint: string;
}

export interface Cycle {
  readonly rule: string;
  readonly severity: "error" | "warn" | "info";
  /** The modules of one circle, in import order, starting at the lexically first. */
  readonly modules: readonly string[];
  /** Every module of the strongly connected component the circle belongs to. */
  readonly component: readonly string[];
  /** The import of the first module that starts the circle. */
  readonly line: number;
  readonly fingerprint: string;
}

export interface LayerReport {
  readonly violations: readonly LayerViolation[];
  readonly cycles: readonly Cycle[];
  readonly orphans: readonly string[];
  readonly modules: number;
  readonly dependencies: number;
}

const cache = new Map<string, RegExp>();
function re(source: string): RegExp {
  let r = cache.get(source);
  if (r === undefined) {
    r = new RegExp(source);
    cache.set(source, r);
  }
  return r;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** `$1`… in a `to` pattern replaced by the (escaped) groups `from.path` captured. */
function substitute(pattern: string, groups: readonly string[]): string {
  return pattern.replace(/\$([1-9])/g, (_, d: string) => escapeRe(groups[Number(d)] ?? ""));
}

/** The groups of `from.path` on `module`, or undefined when the module does not match `from`. */
function matchFrom(cond: z.infer<typeof FromCondition>, module: string): readonly string[] | undefined {
  let groups: readonly string[] = [];
  if (cond.path !== undefined) {
    const m = re(cond.path).exec(module);
    if (m === null) return undefined;
    groups = [...m].map((g) => g ?? "");
  }
  if (cond.pathNot !== undefined && re(cond.pathNot).test(module)) return undefined;
  return groups;
}

function matchTo(
  cond: z.infer<typeof ToCondition>,
  dep: Dependency,
  groups: readonly string[],
  inCycle: (d: Dependency) => boolean,
): boolean {
  if (cond.path !== undefined && !re(substitute(cond.path, groups)).test(dep.to)) return false;
  if (cond.pathNot !== undefined && re(substitute(cond.pathNot, groups)).test(dep.to)) return false;
  if (cond.dependencyTypes !== undefined && !cond.dependencyTypes.some((t) => dep.types.includes(t)))
    return false;
  if (cond.dependencyTypesNot?.some((t) => dep.types.includes(t))) return false;
  if (cond.circular !== undefined && inCycle(dep) !== cond.circular) return false;
  return true;
}

const plainTo = (to: z.infer<typeof ToCondition>) =>
  to.path === undefined &&
  to.pathNot === undefined &&
  to.dependencyTypes === undefined &&
  to.dependencyTypesNot === undefined;

interface Context {
  readonly graph: ImportGraph;
  readonly comps: readonly string[][];
  readonly orphans: readonly string[];
  readonly inCycle: (d: Dependency) => boolean;
  readonly add: (v: Omit<LayerViolation, "fingerprint">) => void;
}

type Forbidden = RulesFile["forbidden"][number];

function orphanRule(rule: Forbidden, cx: Context): void {
  for (const m of cx.orphans) {
    if (matchFrom({ ...rule.from, orphan: undefined }, m) === undefined) continue;
    const message = `${m} is an orphan: nothing imports it and it imports nothing`;
    cx.add({ rule: rule.name, severity: rule.severity, from: m, to: m, line: 1, message });
  }
}

/** A circle is reported once per component, not once per edge. */
function circleRule(rule: Forbidden, cx: Context): Cycle[] {
  const out: Cycle[] = [];
  for (const comp of cx.comps) {
    if (!comp.some((m) => matchFrom(rule.from, m) !== undefined)) continue;
    const modules = cycleThrough(cx.graph, comp);
    const first = modules[0] as string;
    const second = modules[1] ?? first;
    const line = (cx.graph.out.get(first) ?? []).find((d) => d.to === second)?.line ?? 1;
    const fingerprint = `cycle:${rule.name}:${comp.join(",")}`;
    out.push({ rule: rule.name, severity: rule.severity, modules, component: comp, line, fingerprint });
  }
  return out;
}

function dependencyRule(rule: Forbidden, cx: Context): void {
  for (const dep of cx.graph.dependencies) {
    const groups = matchFrom(rule.from, dep.from);
    if (groups === undefined || !matchTo(rule.to, dep, groups, cx.inCycle)) continue;
    const message = `${dep.from} imports ${dep.to} (${rule.comment ?? `forbidden by ${rule.name}`})`;
    cx.add({ rule: rule.name, severity: rule.severity, from: dep.from, to: dep.to, line: dep.line, message });
  }
}

function allowedRules(rules: RulesFile, cx: Context): void {
  if (rules.allowed.length === 0) return;
  const permitted = (dep: Dependency) =>
    rules.allowed.some((r) => {
      const groups = matchFrom(r.from, dep.from);
      return groups !== undefined && matchTo(r.to, dep, groups, cx.inCycle);
    });
  for (const dep of cx.graph.dependencies) {
    if (!dep.types.includes("local") || permitted(dep)) continue;
    const message = `${dep.from} imports ${dep.to}, which no allowed rule permits`;
    cx.add({
      rule: "not-in-allowed",
      severity: rules.allowedSeverity,
      from: dep.from,
      to: dep.to,
      line: dep.line,
      message,
    });
  }
}

function requiredRules(rules: RulesFile, cx: Context): void {
  const depsOf = new Map<string, Dependency[]>();
  for (const d of cx.graph.dependencies) depsOf.set(d.from, [...(depsOf.get(d.from) ?? []), d]);
  for (const rule of rules.required) {
    for (const m of cx.graph.modules) {
      if (matchFrom(rule.module, m) === undefined) continue;
      if ((depsOf.get(m) ?? []).some((d) => matchTo(rule.to, d, [], cx.inCycle))) continue;
      const target = rule.to.path ?? "(any)";
      const message = `${m} must import a module matching ${target} (${rule.comment ?? rule.name})`;
      cx.add({ rule: rule.name, severity: rule.severity, from: m, to: rule.to.path ?? "", line: 1, message });
    }
  }
}

/** Checks every rule on the graph. Results are sorted (rule, from, to, line), so runs compare equal. */
export function checkRules(graph: ImportGraph, rules: RulesFile): LayerReport {
  const selfLoop = (c: string[]) => (graph.out.get(c[0] as string) ?? []).some((d) => d.to === c[0]);
  const comps = components(graph).filter((c) => c.length > 1 || selfLoop(c));
  const compOf = new Map<string, number>();
  comps.forEach((c, i) => {
    for (const m of c) compOf.set(m, i);
  });
  const importers = new Set(graph.dependencies.map((d) => d.from));
  const orphans = graph.modules.filter((m) => (graph.in.get(m) ?? []).length === 0 && !importers.has(m));
  const violations: LayerViolation[] = [];
  const cycles: Cycle[] = [];
  const cx: Context = {
    graph,
    comps,
    orphans,
    inCycle: (d) =>
      d.types.includes("local") && compOf.has(d.from) && compOf.get(d.from) === compOf.get(d.to),
    add: (v) => violations.push({ ...v, fingerprint: `layer:${v.rule}:${v.from}:${v.to}` }),
  };
  for (const rule of rules.forbidden) {
    if (rule.from.orphan === true) orphanRule(rule, cx);
    else if (rule.to.circular === true && plainTo(rule.to)) cycles.push(...circleRule(rule, cx));
    else dependencyRule(rule, cx);
  }
  allowedRules(rules, cx);
  requiredRules(rules, cx);
  violations.sort(
    (a, b) =>
      a.rule.localeCompare(b.rule) ||
      a.from.localeCompare(b.from) ||
      a.to.localeCompare(b.to) ||
      a.line - b.line,
  );
  cycles.sort((a, b) => a.fingerprint.localeCompare(b.fingerprint));
  return {
    violations,
    cycles,
    orphans,
    modules: graph.modules.length,
    dependencies: graph.dependencies.length,
  };
}
