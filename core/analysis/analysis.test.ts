import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { analyzeSources } from "./analyze.ts";
import { analyzeComplexity } from "./complexity.ts";
import { decompose } from "./decompose.ts";
import { buildGraph } from "./graph.ts";
import { RulesFile } from "./rules.ts";
import { analyzePath } from "./run.ts";
import { tokenize } from "./tokens.ts";

/** Tokens of a snippet counted with the compiler's scanner directly (no templates or regexes in it). */
function scannerCount(text: string): number {
  const s = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text);
  let n = 0;
  while (s.scan() !== ts.SyntaxKind.EndOfFileToken) n++;
  return n;
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "bot4-architect-"));
  dirs.push(root);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}

// 10 lines; identical in a.ts and b.ts (type 1), renamed with other literals in c.ts (type 2).
const BLOCK = `export function total(items: { price: number; qty: number }[]): number {
  let sum = 0;
  for (const item of items) {
    if (item.qty > 0) {
      sum += item.price * item.qty;
    }
  }
  const fee = sum > 100 ? 5 : 10;
  return Math.round((sum + fee) * 100) / 100;
}
`;
const RENAMED = BLOCK.replaceAll("total", "sumAll")
  .replaceAll("items", "rows")
  .replaceAll("item", "row")
  .replaceAll("sum", "acc")
  .replaceAll("price", "cost")
  .replaceAll("qty", "n")
  .replace("100 ?", "250 ?")
  .replace("5 : 10", "7 : 12");
// Short: 4 lines, fewer than 50 tokens.
const SHORT = `export const pick = (o: { a: number; b: number }) => {
  const s = o.a + o.b;
  return s * 2;
};
`;

describe("duplication (type 1 and type 2)", () => {
  const root = tree({
    "src/a.ts": BLOCK + "const onlyA = [1, 2, 3];\n",
    "src/b.ts": "import { x } from './x.ts';\n\n" + BLOCK + "export type OnlyB = string | number;\n",
    "src/c.ts": "// renamed copy\n" + RENAMED,
    "src/d.ts": SHORT,
    "src/e.ts": `let z = 1;\n${SHORT}`,
    "src/x.ts": "export const x = 1;\n",
  });
  const { result } = analyzePath({ path: root, parts: ["duplicates"] });
  const blockTokens = scannerCount(BLOCK);

  it("finds the exact copy as type 1 with its files, lines and tokens", () => {
    expect(blockTokens).toBeGreaterThanOrEqual(50);
    const t1 = result.duplicates.filter((p) => p.kind === "type1");
    expect(t1).toHaveLength(1);
    expect(t1[0]).toMatchObject({
      kind: "type1",
      tokens: blockTokens,
      a: { file: "src/a.ts", startLine: 1, endLine: 10 },
      b: { file: "src/b.ts", startLine: 3, endLine: 12 },
    });
  });

  it("finds the renamed copy with other literals as type 2, against both originals", () => {
    const t2 = result.duplicates.filter((p) => p.kind === "type2");
    expect(
      t2.map((p) => [p.a.file, p.b.file, p.a.startLine, p.b.startLine, p.b.endLine, p.tokens]).sort(),
    ).toEqual(
      [
        ["src/a.ts", "src/c.ts", 1, 2, 11, blockTokens],
        ["src/b.ts", "src/c.ts", 3, 2, 11, blockTokens],
      ].sort(),
    );
  });

  it("leaves out clones under the minimum tokens, and finds them when the minimum is lowered", () => {
    expect(result.duplicates.some((p) => p.a.file === "src/d.ts" || p.b.file === "src/d.ts")).toBe(false);
    const lower = analyzePath({ path: root, parts: ["duplicates"], minTokens: 20, minLines: 3 }).result;
    const short = lower.duplicates.find((p) => p.a.file === "src/d.ts" && p.b.file === "src/e.ts");
    expect(short).toMatchObject({
      kind: "type1",
      tokens: scannerCount(SHORT),
      a: { startLine: 1, endLine: 4 },
      b: { startLine: 2, endLine: 5 },
    });
  });

  it("leaves out clones spanning fewer lines than the minimum", () => {
    const oneLine = `export const table = [${Array.from({ length: 40 }, (_, i) => i).join(", ")}];\n`;
    const files = [
      { path: "p.ts", text: oneLine },
      { path: "q.ts", text: `let y = 2;\n${oneLine}` },
    ];
    expect(analyzeSources(files, { parts: ["duplicates"] }).duplicates).toHaveLength(0);
    const r = analyzeSources(files, {
      parts: ["duplicates"],
      duplication: { minLines: 1, minTokens: 50, kinds: ["type1"] },
    });
    expect(r.duplicates).toHaveLength(1);
  });

  it("pairs every later copy with the first one, as jscpd does, however many copies there are", () => {
    // 12 files with the same block: more copies than the partners tried along the chain of latest ones.
    const files = Array.from({ length: 12 }, (_, i) => ({
      path: `f${String(i).padStart(2, "0")}.ts`,
      text: `const own${i} = ${i}\n${BLOCK}`,
    }));
    const pairs = analyzeSources(files, { parts: ["duplicates"] }).duplicates;
    const exact = pairs.filter((p) => p.kind === "type1");
    const withFirst = exact.filter((p) => p.a.file === "f00.ts");
    expect(withFirst.map((p) => p.b.file).sort()).toEqual(files.slice(1).map((f) => f.path));
    expect(withFirst.every((p) => p.tokens === blockTokens && p.b.startLine === 2)).toBe(true);
  });

  it("does not take two import lists of other names for a renamed clone, and still finds the same list", () => {
    const imports = (tag: string) =>
      Array.from({ length: 8 }, (_, i) => `import { ${tag}${i} } from "./${tag}/m${i}.ts";\n`).join("");
    const files = [
      { path: "p.ts", text: `${imports("alpha")}export const p = 1;\n` },
      { path: "q.ts", text: `${imports("beta")}export const q = 2;\n` },
      { path: "r.ts", text: `${imports("alpha")}export const r = 3;\n` },
    ];
    const pairs = analyzeSources(files, { parts: ["duplicates"] }).duplicates;
    // 8 import lines of 7 tokens: the same shape in all three files, the same names only in p and r
    // (whose clone runs on into `export const`).
    expect(pairs.map((p) => [p.kind, p.a.file, p.b.file, p.a.startLine, p.a.endLine])).toEqual([
      ["type1", "p.ts", "r.ts", 1, 9],
    ]);
  });

  it("reports the duplicated share per file and overall", () => {
    // a.ts: lines 1-10 of 11 in a pair; b.ts: 3-12 of 13; c.ts: 2-11 of 11.
    const share = Object.fromEntries(result.duplication.files.map((f) => [f.file, f]));
    expect(share["src/a.ts"]).toMatchObject({
      lines: 11,
      duplicatedLines: 10,
      percent: Math.round((10000 * 10) / 11) / 100,
    });
    expect(share["src/b.ts"]).toMatchObject({ lines: 13, duplicatedLines: 10 });
    expect(share["src/c.ts"]).toMatchObject({ lines: 11, duplicatedLines: 10 });
    const total = 11 + 13 + 11 + 4 + 5 + 1;
    expect(result.duplication.totalLines).toBe(total);
    expect(result.duplication.duplicatedLines).toBe(30);
    expect(result.duplication.percent).toBe(Math.round((10000 * 30) / total) / 100);
  });
});

describe("tokens and imports", () => {
  it("numbers the lines of a file longer than the line table's first size (16,384), with \\n and with \\r\\n", () => {
    for (const eol of ["\n", "\r\n"]) {
      const n = 40_000;
      const text = Array.from({ length: n }, (_, i) => `const v${i} = ${i};`).join(eol);
      const t = tokenize("long.ts", text);
      expect(t.lines, JSON.stringify(eol)).toBe(n);
      // 5 tokens a line (const, name, =, literal, ;): the last line's tokens are on line n.
      expect(t.line.length).toBe(5 * n);
      expect(t.line[t.line.length - 1]).toBe(n);
      expect(t.line[5 * 20_000]).toBe(20_001);
    }
  });

  it("reads static, type-only, re-export, dynamic and require imports, and top-level exports", () => {
    const t = tokenize(
      "m.ts",
      [
        'import a from "./a.ts";',
        'import type { B } from "./b.ts";',
        'import { type C, d } from "./c.ts";',
        'export { e } from "./e.ts";',
        'export * from "./f.ts";',
        'import "./side.ts";',
        "const g = await import(`./g.ts`);",
        'const h = require("./h.cjs");',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: source text for the scanner
        "const s = `x ${a} y ${`${d}`} z`;",
        'const re = /from "nope"/g;',
        "export const K = 1, L = 2;",
        "export function fn() { return { export: 1 }; }",
        "export default class Klass {}",
        "export { s as renamed, re };",
      ].join("\n"),
    );
    expect(t.imports.map((i) => [i.specifier, i.line, i.typeOnly, i.dynamic])).toEqual([
      ["./a.ts", 1, false, false],
      ["./b.ts", 2, true, false],
      ["./c.ts", 3, false, false],
      ["./e.ts", 4, false, false],
      ["./f.ts", 5, false, false],
      ["./side.ts", 6, false, false],
      ["./h.cjs", 8, false, true],
    ]);
    expect([...t.exports].sort()).toEqual(["K", "Klass", "e", "fn", "re", "renamed"].sort());
    expect(t.lines).toBe(14);
  });
});

const RULES = RulesFile.parse({
  forbidden: [
    {
      name: "agents-isolated",
      from: { path: "^(hotpath|functions)/(?!kit/)([^/]+)/" },
      to: { path: "^(hotpath|functions)/(?!kit/)[^/]+/", pathNot: "^$1/$2/" },
    },
    { name: "core-independent", from: { path: "^core/" }, to: { path: "^(hotpath|functions)/" } },
    { name: "domain-pure", from: { path: "^core/domain/" }, to: { path: "^(node:.*|ccxt)$" } },
    { name: "no-circular", to: { circular: true } },
    { name: "no-orphans", severity: "warn", from: { orphan: true } },
  ],
  required: [
    {
      name: "handler-wiring",
      module: { path: "^functions/[^/]+/handler\\.ts$" },
      to: { path: "^core/lambda\\.ts$" },
    },
  ],
});

describe("layer rules, circles and orphans", () => {
  const files = {
    "core/lambda.ts": "export const wire = 1;\n",
    "core/domain/order.ts":
      'import { readFileSync } from "node:fs";\nimport ccxt from "ccxt";\nexport const o = 1;\n',
    "core/bad.ts": 'import { risk } from "../hotpath/risk/tools.ts";\nexport const bad = risk;\n',
    "hotpath/kit/service.ts": "export const kit = 1;\n",
    "hotpath/risk/tools.ts":
      'import { kit } from "../kit/service.ts";\nimport { fills } from "../exchange/fills.ts";\nexport const risk = kit + fills;\n',
    "hotpath/exchange/fills.ts": 'import { o } from "../../core/domain/order.ts";\nexport const fills = o;\n',
    "functions/audit/handler.ts": 'import { wire } from "../../core/lambda.ts";\nexport const h = wire;\n',
    "functions/bare/handler.ts": "export const h = 2;\n",
    "lib/a.ts": 'import { b } from "./b.ts";\nexport const a = b;\n',
    "lib/b.ts": 'import { c } from "./c.ts";\nexport const b = c;\n',
    "lib/c.ts": 'import type { A } from "./a.ts";\nexport const c = 3;\n',
    "lib/lonely.ts": "const nothing = 0;\n",
  };
  const root = tree({ ...files, "architect.rules.json": JSON.stringify(RULES) });
  const { result } = analyzePath({ path: root, parts: ["layers"] });

  it("reports each forbidden import with file, line and rule ($1/$2 from the importer's path)", () => {
    expect(
      result.layer_violations
        .filter((v) => v.severity === "error")
        .map((v) => [v.rule, v.from, v.to, v.line]),
    ).toEqual([
      ["agents-isolated", "hotpath/risk/tools.ts", "hotpath/exchange/fills.ts", 2],
      ["core-independent", "core/bad.ts", "hotpath/risk/tools.ts", 1],
      ["domain-pure", "core/domain/order.ts", "ccxt", 2],
      ["domain-pure", "core/domain/order.ts", "node:fs", 1],
      ["handler-wiring", "functions/bare/handler.ts", "^core/lambda\\.ts$", 1],
    ]);
  });

  it("finds the import circle (through a type-only import) once, in import order", () => {
    expect(result.cycles).toHaveLength(1);
    expect(result.cycles[0]).toMatchObject({
      rule: "no-circular",
      modules: ["lib/a.ts", "lib/b.ts", "lib/c.ts"],
      line: 1,
    });
  });

  it("lists orphans (warn severity)", () => {
    expect(result.orphans).toEqual(["functions/bare/handler.ts", "lib/lonely.ts"]);
    expect(result.layer_violations.filter((v) => v.severity === "warn").map((v) => v.from)).toEqual([
      "functions/bare/handler.ts",
      "lib/lonely.ts",
    ]);
  });

  it("reports an import that no allowed rule permits", () => {
    const rules = RulesFile.parse({
      allowed: [{ from: { path: "^lib/" }, to: { path: "^lib/" } }],
      allowedSeverity: "error",
    });
    const r = analyzePath({ path: root, parts: ["layers"], rules }).result;
    const notAllowed = r.layer_violations
      .filter((v) => v.rule === "not-in-allowed")
      .map((v) => `${v.from}→${v.to}`);
    expect(notAllowed).toEqual([
      "core/bad.ts→hotpath/risk/tools.ts",
      "functions/audit/handler.ts→core/lambda.ts",
      "hotpath/exchange/fills.ts→core/domain/order.ts",
      "hotpath/risk/tools.ts→hotpath/exchange/fills.ts",
      "hotpath/risk/tools.ts→hotpath/kit/service.ts",
    ]);
  });

  it("refuses a rules file that does not parse, naming the field", () => {
    const bad = tree({
      "a.ts": "export const a = 1;\n",
      "architect.rules.json": '{"forbidden":[{"name":"x","from":{"path":"("}}]}',
    });
    expect(() => analyzePath({ path: bad })).toThrow(
      /forbidden\.0\.from\.path: not a valid regular expression/,
    );
  });
});

describe("complexity (hand-computed)", () => {
  const text = `
export function sumOfPrimes(max: number): number {
  let total = 0;
  OUT: for (let i = 1; i <= max; ++i) {
    for (let j = 2; j < i; ++j) {
      if (i % j === 0) {
        continue OUT;
      }
    }
    total += i;
  }
  return total;
}

export function getWords(n: number): string {
  switch (n) {
    case 1:
      return "one";
    case 2:
      return "a couple";
    case 3:
      return "a few";
    default:
      return "lots";
  }
}

export function mixed(a: boolean, b: boolean, c: boolean, xs: number[]): number {
  if (a && b && c) {
    return 1;
  } else if (a || (b && c)) {
    return 2;
  } else {
    try {
      xs.forEach((x) => {
        if (x > 0) {
          return;
        }
      });
    } catch (e) {
      return a ? 3 : 4;
    }
  }
  return 0;
}

export function registerAll(items: number[], limit = 3) {
  items.map((x) => {
    if (x > 1) return 1;
    return 0;
  });
  items.filter((x) => x > 2 && x < limit);
}

class Box {
  open(flag?: boolean): void {
    while (flag ?? false) {
      flag = !flag;
    }
  }
}
`;
  const byName = Object.fromEntries(analyzeComplexity("x.ts", text).functions.map((f) => [f.name, f]));

  it("computes the whitepaper's sumOfPrimes (7) and getWords (1)", () => {
    // for +1, nested for +2, nested if +3, continue to a label +1.
    expect(byName.sumOfPrimes).toMatchObject({
      cognitive: 7,
      cyclomatic: 4,
      line: 2,
      endLine: 13,
      lines: 12,
      reported: true,
    });
    // switch +1; cyclomatic 1 + 3 cases with a test.
    expect(byName.getWords).toMatchObject({ cognitive: 1, cyclomatic: 4 });
  });

  it("counts else-if, else, logical sequences, nested callbacks, catch and ternary with nesting", () => {
    // if 1 + (&&) 1 + else if 1 + (|| then &&) 2 + else 1 + if in callback at nesting 2: 3
    // + catch at nesting 1: 2 + ternary at nesting 2: 3 = 14.
    expect(byName.mixed).toMatchObject({ cognitive: 14, reported: true });
    // 1 + if + && + && + else-if + || + && + catch + ?: = 9 (the callback's if is its own).
    expect(byName.mixed?.cyclomatic).toBe(9);
    expect(byName["mixed/xs.forEach callback"]).toMatchObject({
      cognitive: 1,
      cyclomatic: 2,
      reported: false,
    });
  });

  it("reports the callbacks, not the function, when the function has no structure of its own (SonarJS)", () => {
    // registerAll: 0 of its own; callback 1: if +1; callback 2: && +1. Total with nesting: 2 + 1.
    expect(byName.registerAll).toMatchObject({ cognitive: 3, reported: false, cyclomatic: 2 });
    expect(byName["registerAll/items.map callback"]).toMatchObject({
      cognitive: 1,
      reported: true,
      cyclomatic: 2,
    });
    expect(byName["registerAll/items.filter callback"]).toMatchObject({
      cognitive: 1,
      reported: true,
      cyclomatic: 2,
    });
  });

  it("names methods by class and counts ?? in a loop condition", () => {
    // while +1, ?? +1; cyclomatic 1 + while + ??.
    expect(byName["Box.open"]).toMatchObject({ cognitive: 2, cyclomatic: 3 });
  });

  it("flags functions over the thresholds", () => {
    const r = analyzeSources([{ path: "x.ts", text }], {
      parts: ["complexity"],
      complexity: { cognitive: 6, cyclomatic: 8, functionLines: 11, fileLines: 40 },
    });
    const over = Object.fromEntries(
      r.complexity.filter((f) => f.over.length > 0).map((f) => [f.name, f.over]),
    );
    expect(over).toEqual({
      sumOfPrimes: ["cognitive", "lines"],
      mixed: ["cognitive", "cyclomatic", "lines"],
      getWords: ["lines"],
    });
    expect(r.large_files).toEqual([{ file: "x.ts", lines: text.split("\n").length - 1 }]);
  });
});

describe("task decomposition", () => {
  const files = {
    "core/domain/order.ts": "export interface Order { id: string }\nexport const ORDER_KINDS = 2;\n",
    "core/risk/limits.ts":
      'import type { Order } from "../domain/order.ts";\nexport const limit = (o: Order) => o.id;\n',
    "core/risk/limits.test.ts": 'import { limit } from "./limits.ts";\nlimit({ id: "x" });\n',
    "hotpath/risk/tools.ts":
      'import { limit } from "../../core/risk/limits.ts";\nexport const tools = [limit];\n',
    "hotpath/exchange/oms.ts":
      'import { ORDER_KINDS } from "../../core/domain/order.ts";\nexport const oms = ORDER_KINDS;\n',
    "infra/local/start.ts":
      'import { tools } from "../../hotpath/risk/tools.ts";\nexport const start = tools;\n',
    "lib/p.ts": 'import { q } from "./q.ts";\nexport const p = 1;\nexport const pp = q;\n',
    "lib/q.ts": 'import { p } from "./p.ts";\nexport const q = p;\n',
  };
  const tokens = Object.entries(files).map(([path, text]) => tokenize(path, text));
  const graph = buildGraph(new Map(tokens.map((t) => [t.path, t.imports])));
  const exportsOf = new Map(tokens.map((t) => [t.path, t.exports]));

  it("orders dependencies before dependents, with tests, owners and reasons", () => {
    const d = decompose(graph, exportsOf, {
      request: "add a trailing-stop field to `Order`",
      symbols: ["Order"],
    });
    expect(d.tasks.map((t) => [t.step, t.kind, t.modules.join(","), t.owner, t.dependsOn])).toEqual([
      [1, "change", "core/domain/order.ts", null, []],
      [2, "update", "core/risk/limits.ts", null, [1]],
      [3, "update", "hotpath/exchange/oms.ts", "exchange", [1]],
      [4, "update", "hotpath/risk/tools.ts", "risk", [2]],
      [5, "update", "infra/local/start.ts", "infra", [4]],
      [6, "test", "core/risk/limits.test.ts", null, [2]],
    ]);
    expect(d.tasks[0]?.reason).toBe("exports Order, named in the request");
    expect(d.tasks[3]?.reason).toBe("imports core/risk/limits.ts (step 2)");
    // Same input, same list.
    expect(
      decompose(graph, exportsOf, { request: "add a trailing-stop field to `Order`", symbols: ["Order"] }),
    ).toEqual(d);
  });

  it("takes agents and paths from the request text, puts an import circle in one step, lists unknown names", () => {
    const d = decompose(graph, exportsOf, {
      request: "rework lib/p.ts for the exchange agent",
      files: ["nope.ts"],
    });
    expect(d.unknown).toEqual(["nope.ts"]);
    expect(d.seeds).toEqual(["hotpath/exchange/oms.ts", "lib/p.ts"]);
    expect(d.tasks.map((t) => [t.kind, t.modules])).toEqual([
      ["change", ["hotpath/exchange/oms.ts"]],
      ["change", ["lib/p.ts", "lib/q.ts"]],
    ]);
    expect(d.tasks[1]?.reason).toMatch(/2 modules import one another/);
  });
});
