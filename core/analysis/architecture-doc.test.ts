import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  ARCHITECTURE_DOC,
  dependencyPicture,
  PICTURE_BEGIN,
  PICTURE_END,
  withPicture,
} from "./architecture-doc.ts";
import { mermaidOf, partEdges, partOf } from "./folder-graph.ts";
import { buildGraph } from "./graph.ts";
import type { ImportRef } from "./tokens.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

const ref = (specifier: string, typeOnly = false): ImportRef => ({
  specifier,
  line: 1,
  typeOnly,
  dynamic: false,
});

describe("the folder-level dependency picture", () => {
  it("groups modules into the layout's parts and leaves tests, test support and tooling out", () => {
    expect(partOf("core/risk/var.ts")).toBe("core");
    expect(partOf("adapters/http/tool-routes.ts")).toBe("adapters/http");
    expect(partOf("hotpath/kit/http.ts")).toBe("hotpath/kit");
    expect(partOf("hotpath/risk/service.ts")).toBe("hotpath/‹agent›");
    expect(partOf("functions/trigger/trigger.ts")).toBe("functions/trigger");
    expect(partOf("functions/compliance/function.ts")).toBe("functions/‹fn›");
    expect(partOf("functions/local.ts")).toBe("functions (local, modules)");
    expect(partOf("infra/local/start.ts")).toBe("infra");
    for (const p of ["core/risk/var.test.ts", "hotpath/exchange/testing.ts", "hotpath/kit/testing/x.ts"])
      expect(partOf(p), p).toBeUndefined();
    for (const p of ["bench/run.ts", "test/nats.ts", "bin/bot4.mjs"]) expect(partOf(p), p).toBeUndefined();
  });

  it("draws one arrow per pair of parts, types-only arrows labelled, a part's own imports left out", () => {
    const graph = buildGraph(
      new Map<string, ImportRef[]>([
        ["core/a.ts", [ref("./b.ts")]],
        ["core/b.ts", []],
        ["hotpath/risk/tools.ts", [ref("../../core/a.ts"), ref("../kit/types.ts", true)]],
        ["hotpath/risk/service.ts", [ref("../../core/b.ts")]],
        ["hotpath/kit/types.ts", [ref("../../core/a.ts", true)]],
        ["hotpath/kit/service.ts", [ref("../../core/b.ts")]],
        ["hotpath/risk/tools.test.ts", [ref("../../functions/x/f.ts")]],
        ["functions/x/f.ts", []],
      ]),
    );
    expect(partEdges(graph)).toEqual([
      { from: "hotpath/kit", to: "core", typeOnly: false },
      { from: "hotpath/‹agent›", to: "core", typeOnly: false },
      { from: "hotpath/‹agent›", to: "hotpath/kit", typeOnly: true },
    ]);
    expect(
      mermaidOf(partEdges(graph), [{ from: "core", to: "KV bot4_function_state", label: "state" }]),
    ).toBe(
      [
        "flowchart LR",
        '  KV_bot4_function_state[("KV bot4_function_state")]',
        '  core["core"]',
        '  hotpath_kit["hotpath/kit"]',
        '  hotpath_agent["hotpath/‹agent›"]',
        "  hotpath_kit --> core",
        "  hotpath_agent --> core",
        "  hotpath_agent -->|types| hotpath_kit",
        '  core -.->|"state"| KV_bot4_function_state',
      ].join("\n"),
    );
  });

  it("replaces only what lies between the markers, and refuses a doc without them", () => {
    const doc = `a\n${PICTURE_BEGIN}\nold\n${PICTURE_END}\nb\n`;
    expect(withPicture(doc, "new")).toBe(`a\n${PICTURE_BEGIN}\nnew\n${PICTURE_END}\nb\n`);
    expect(() => withPicture("a\nb\n", "new")).toThrow(/markers/);
  });

  it("is what docs/architecture.md shows (run `npm run docs:graph` after changing who imports what)", {
    timeout: 180_000,
  }, () => {
    const doc = readFileSync(new URL(`../../${ARCHITECTURE_DOC}`, import.meta.url), "utf8");
    const picture = dependencyPicture(root);
    expect(doc).toBe(withPicture(doc, picture));
  });
});
