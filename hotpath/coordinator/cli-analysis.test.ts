import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "./cli.ts";

/** `bot4 analyze` and `bot4 gate` in process on real git checkouts in temporary folders. */

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function write(root: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
}

const git = (root: string, ...args: string[]) =>
  execFileSync("git", args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] }).toString();

const FN = (name: string) => `export function ${name}(xs: number[], limit: number): number {
  let acc = 0;
  for (const x of xs) {
    if (x > limit) {
      acc += x * 2;
    } else if (x < -limit) {
      acc -= x * 3;
    } else {
      acc += 1;
    }
  }
  return acc > 100 ? acc / 2 : acc;
}
`;

const RULES = {
  forbidden: [
    { name: "core-independent", from: { path: "^core/" }, to: { path: "^hotpath/" } },
    { name: "no-circular", to: { circular: true } },
  ],
};

/** A repository with one commit: rules, a core module, a hotpath module using it. */
function repo(): string {
  const root = mkdtempSync(join(tmpdir(), "bot4-gate-"));
  dirs.push(root);
  write(root, {
    "architect.rules.json": JSON.stringify(RULES),
    "core/math.ts": FN("score"),
    "hotpath/svc/run.ts":
      'import { score } from "../../core/math.ts";\nexport const run = () => score([1, 2], 1);\n',
  });
  git(root, "init", "-q");
  git(root, "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A");
  git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "base");
  return root;
}

interface Run {
  code: number;
  out: string;
  err: string;
}
async function bot4(...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {}, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("bot4 gate --base", () => {
  let root: string;
  beforeEach(() => {
    root = repo();
  });

  it("passes a clean change (exit 0)", async () => {
    write(root, {
      "core/extra.ts":
        "export const twice = (n: number) => n * 2;\n".repeat(1) +
        "export const thrice = (n: number) => n * 3;\n",
    });
    const r = await bot4("gate", root, "--base", "HEAD");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/quality gate: PASSED/);
  });

  it("fails on a copied function, naming the condition, the file and the line (exit 1)", async () => {
    write(root, { "core/copy.ts": `// a copy\n${FN("score2")}${"export const pad = 1;\n".repeat(8)}` });
    const r = await bot4("gate", root, "--base", "HEAD");
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/quality gate: FAILED/);
    expect(r.out).toMatch(/FAIL new_duplicated_lines_density = [\d.]+ % \(<= 3 %\)/);
    // The body (after the renamed name) is an exact copy: line 2 of the copy is where it starts.
    expect(r.out).toMatch(/core\/copy\.ts:2 {2}type1 clone \(\d+ tokens\) of core\/math\.ts:1-13/);
    const json = JSON.parse((await bot4("gate", root, "--base", "HEAD", "--json")).out) as {
      status: string;
      conditions: { metric: string; status: string; value: number }[];
    };
    expect(json.status).toBe("failed");
    const dup = json.conditions.find((c) => c.metric === "new_duplicated_lines_density");
    // 13 of the 22 new lines (comment + 13 + 8) are in the clone: 59.09 %.
    expect(dup).toMatchObject({ status: "error", value: 59.09 });
  });

  it("fails on a new layer violation and a new import circle", async () => {
    write(root, {
      "core/math.ts": `import { run } from "../hotpath/svc/run.ts";\nexport const r = run;\n${FN("score")}`,
    });
    const r = await bot4("gate", root, "--base", "HEAD");
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAIL new_layer_violations = 1 \(<= 0\)/);
    expect(r.out).toMatch(
      /core\/math\.ts:1 {2}core-independent: core\/math\.ts imports hotpath\/svc\/run\.ts/,
    );
    expect(r.out).toMatch(/FAIL new_cycles = 1 \(<= 0\)/);
    expect(r.out).toMatch(/core\/math\.ts → hotpath\/svc\/run\.ts → core\/math\.ts/);
  });

  it("fails on a new function over the complexity thresholds", async () => {
    const deep = `export function deep(a: number[][]): number {
  let n = 0;
  for (const r of a) {
    for (const x of r) {
      if (x > 0) {
        if (x % 2 === 0) {
          if (x > 10 && x < 100) {
            n++;
          }
        }
      }
    }
  }
  return n;
}
`;
    write(root, { "core/deep.ts": deep });
    const r = await bot4("gate", root, "--base", "HEAD");
    expect(r.code).toBe(1);
    // for 1 + for 2 + if 3 + if 4 + if 5 + && 1 = 16 > 15.
    expect(r.out).toMatch(/FAIL new_complex_functions = 1/);
    expect(r.out).toMatch(/core\/deep\.ts:1 {2}deep: cognitive complexity 16 > 15/);
  });

  it("checks coverage on new code from an istanbul JSON report", async () => {
    write(root, {
      "core/extra.ts": "export const a = 1;\nexport const b = 2;\nexport const c = 3;\nexport const d = 4;\n",
    });
    const statement = (line: number) => ({ start: { line, column: 0 }, end: { line, column: 10 } });
    const report = {
      [join(root, "core/extra.ts")]: {
        path: join(root, "core/extra.ts"),
        statementMap: { "0": statement(1), "1": statement(2), "2": statement(3), "3": statement(4) },
        s: { "0": 1, "1": 1, "2": 0, "3": 0 },
      },
    };
    writeFileSync(join(root, "coverage-final.json"), JSON.stringify(report));
    const r = await bot4("gate", root, "--base", "HEAD", "--coverage", join(root, "coverage-final.json"));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAIL new_coverage = 50 % \(>= 80 %\): 2 of 4 coverable new lines covered/);
    expect(r.out).toMatch(/core\/extra\.ts:3 {2}lines 3-4 not covered/);
  });

  it("refuses a base that is not a commit (exit 2)", async () => {
    const r = await bot4("gate", root, "--base", "no-such-branch");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/base: no-such-branch is not a commit/);
  });
});

describe("bot4 gate against the committed baseline", () => {
  // Cognitive complexity 21 (if-nesting 1 + 2 + … + 6), over the default threshold of 15.
  const complex =
    "export function deep(a: number): number {\n" +
    "  if (a > 1) { if (a > 2) { if (a > 3) { if (a > 4) { if (a > 5) { if (a > 6) { return 1; } } } } } }\n" +
    "  return 0;\n}\n";

  it("accepts the baseline's complexity, never a layer violation, and fails on a new issue", async () => {
    const root = repo();
    write(root, {
      "core/deep.ts": complex,
      "core/old.ts": 'import { run } from "../hotpath/svc/run.ts";\nexport const o = run;\n',
    });
    expect((await bot4("gate", root)).code).toBe(1); // no baseline: everything is new
    const upd = await bot4("gate", root, "--update-baseline");
    expect(upd.code).toBe(1);
    expect(upd.out).toMatch(/baseline written: .*quality-baseline\.json \(1 accepted issues\)/);
    expect(upd.out).toMatch(/not accepted: 1 layer violation\(s\) or import circle\(s\)/);
    // The old violation still fails the gate; the accepted complex function does not.
    const old = await bot4("gate", root);
    expect(old.code).toBe(1);
    expect(old.out).toMatch(/core\/old\.ts:1 {2}core-independent/);
    expect(old.out).not.toMatch(/core\/deep\.ts/);
    rmSync(join(root, "core/old.ts"));
    const ok = await bot4("gate", root);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/measured against changes since the baseline quality-baseline\.json/);
    write(root, { "core/new.ts": 'import { run } from "../hotpath/svc/run.ts";\nexport const n = run;\n' });
    const bad = await bot4("gate", root);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/core\/new\.ts:1 {2}core-independent/);
    expect(bad.out).not.toMatch(/core\/deep\.ts/);
  });
});

describe("bot4 analyze", () => {
  it("prints a readable report, and JSON with the four arrays", async () => {
    const root = repo();
    const text = await bot4("analyze", root);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/analysis of .*: 2 files/);
    expect(text.out).toMatch(/layers: 2 modules, 1 imports — 0 violation\(s\), 0 import circle\(s\)/);
    const json = await bot4("analyze", join(root, "core"), "--json");
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.out) as Record<string, unknown>;
    for (const key of ["duplicates", "layer_violations", "cycles", "complexity"]) {
      expect(Array.isArray(parsed[key])).toBe(true);
    }
    expect(parsed.scope).toBe("core");
    // The tools' wire form: snake_case, as analyze_code answers it.
    expect(Object.keys(parsed.duplication as object)).toEqual(
      expect.arrayContaining(["duplicated_lines", "total_lines", "by_kind"]),
    );
    expect((parsed.complexity as { end_line: number }[])[0]?.end_line).toBeGreaterThan(1);
    expect(
      (parsed.complexity as { name: string; cognitive: number }[]).map((f) => [f.name, f.cognitive]),
    ).toEqual([
      // for 1 + if 2 + else if 1 + else 1 + ternary 1 = 6
      ["score", 6],
    ]);
  });

  it("exits 2 on usage errors", async () => {
    expect((await bot4("analyze")).code).toBe(2);
    expect((await bot4("analyze", "/definitely/not/here")).code).toBe(2);
    expect((await bot4("analyze", ".", "--min-tokens", "abc")).code).toBe(2);
  });
});
