import { describe, expect, it } from "vitest";
import { comparePaths } from "./path-order.ts";
import { listSources } from "./workspace.ts";

/** comparePaths answers as localeCompare does (the order every report had before it). */

const ASCII = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));
const disagreements = (pairs: Iterable<[string, string]>) => {
  const out: string[] = [];
  for (const [a, b] of pairs)
    if (Math.sign(comparePaths(a, b)) !== Math.sign(a.localeCompare(b))) out.push(`${a} | ${b}`);
  return out;
};

function* allPairs(strings: readonly string[]): Generator<[string, string]> {
  for (const a of strings) for (const b of strings) yield [a, b];
}

describe("comparePaths", () => {
  it("orders every pair of printable ASCII characters, alone and inside paths, as localeCompare", () => {
    const inPaths = ASCII.flatMap((c) => [c, `a${c}b`, `a${c}B`, `A${c}`, `${c}z/x.ts`, `src/${c}`]);
    expect(disagreements(allPairs(inPaths))).toEqual([]);
  });

  it("orders prefixes, case variants and non-ASCII paths as localeCompare", () => {
    const paths = [
      "a",
      "A",
      "ab",
      "aB",
      "Ab",
      "a.ts",
      "a-b.ts",
      "a_b.ts",
      "a/b.ts",
      "é.ts",
      "e.ts",
      "f.ts",
      "a b",
    ];
    expect(disagreements(allPairs(paths))).toEqual([]);
  });

  it("sorts this repository's sources as localeCompare does", () => {
    const files = listSources(".");
    expect([...files].sort(comparePaths)).toEqual([...files].sort((a, b) => a.localeCompare(b)));
  });
});
