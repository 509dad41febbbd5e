import ts from "typescript";
import { describe, expect, it } from "vitest";
import { KEYWORDS, Kind, PUNCTUATION } from "./lexer-kinds.ts";
import { type TokenizedFile, tokenize, tokenizeWith } from "./tokens.ts";
import { readSources } from "./workspace.ts";

/** The tokenizer as it was: TypeScript's own scanner, which lexer.ts stands in for. */
const tsScanner = ts.createScanner(ts.ScriptTarget.Latest, true);
const viaTypeScript = (path: string, text: string) => tokenizeWith(tsScanner, path, text);

/** The first token where the two streams differ, with its text, or undefined when they agree. */
function firstDifference(path: string, text: string): string | undefined {
  const a = tokenize(path, text);
  const b = viaTypeScript(path, text);
  const arrays = ["exact", "shape", "line", "endLine"] as const;
  for (const k of arrays) {
    const n = Math.max(a[k].length, b[k].length);
    for (let i = 0; i < n; i++) {
      if (a[k][i] !== b[k][i])
        return `${path}: ${k}[${i}] lexer ${a[k][i]} ≠ typescript ${b[k][i]} (line ${b.line[i]})`;
    }
  }
  const rest = (t: TokenizedFile) => ({ lines: t.lines, imports: t.imports, exports: t.exports });
  if (JSON.stringify(rest(a)) !== JSON.stringify(rest(b))) return `${path}: imports/exports/lines differ`;
  return undefined;
}

function differences(dir: string): { files: number; diffs: string[] } {
  const files = readSources(dir);
  const diffs: string[] = [];
  for (const f of files) {
    const d = firstDifference(f.path, f.text);
    if (d !== undefined) diffs.push(d);
  }
  return { files: files.length, diffs };
}

describe("lexer: the TypeScript scanner's tokens without typescript.js", () => {
  it("spells every kind as ts.SyntaxKind does", () => {
    const K = ts.SyntaxKind as unknown as Record<string, number>;
    for (const [name, value] of Object.entries(Kind)) expect([name, value]).toEqual([name, K[name]]);
    for (const [text, kind] of [...PUNCTUATION, ...KEYWORDS]) expect(ts.tokenToString(kind)).toBe(text);
  });

  it("gives the same tokens on tricky snippets", () => {
    const snippets = [
      "const a = 1_000n + 0xFF_FFn + 0b1010 + 0o17 + .5e-3 + 1.5 + 017 + 08.5 + 1e10 + 2E+3;",
      "const r = /[/\\]]+/gu.test(x) ? a / b / c : /=/.source; x /= 2; y = (a) / 2;",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: source text with templates in it
      "const t = `a${b + `c${d}e`}f${ {x: 1}.x }g` + tag`h${i}`; const u = `\\${no}`;",
      "class C { #p = 1; m() { return this.#p?.toString() ?? a?.b ?? c?.5:0; } }",
      'import type { A } from "./a.ts"; export * from "b"; const m = await import("c"); require("d\\u0041");',
      "#!/usr/bin/env node\nlet s = 'it\\'s'; let x = a >>>= b >> c >= d => e; /* c */ // d\n",
      "let ünïcode = 1; let \\u0061bc = 2; a\u2028b; x = y\n/ 2;",
      "const bad = /unterminated; ) f(x)\nlet s = 'open\nlet q = `open",
      "label: for (;;) { if (a) /re/.exec(b); else continue label } <a></a> <T,>(x: T) => x",
    ];
    for (const [i, s] of snippets.entries()) expect(firstDifference(`s${i}.ts`, s)).toBeUndefined();
    expect(firstDifference("s.tsx", "const a = <div>{x}</div>; const b = a </* c */ 2;")).toBeUndefined();
  });

  it("gives the same tokens on every source file of this repository", () => {
    const r = differences(".");
    expect(r.files).toBeGreaterThan(100);
    expect(r.diffs).toEqual([]);
  });

  it("gives the same tokens on the bench corpus (zod/src, hono/dist)", () => {
    for (const dir of ["node_modules/zod/src", "node_modules/hono/dist"]) {
      const r = differences(dir);
      expect(r.files).toBeGreaterThan(50);
      expect(r.diffs).toEqual([]);
    }
  });
});
