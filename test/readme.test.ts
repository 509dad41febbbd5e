import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Config } from "../core/config.ts";

/** The README's configuration table is the user's reference: every variable the code reads is in it. */
describe("README", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

  it("documents every configuration variable", () => {
    const missing = Object.keys(Config.shape).filter((key) => !readme.includes(`\`${key}\``));
    expect(missing).toEqual([]);
  });

  it("gives the two quick-start commands", () => {
    expect(readme).toMatch(/^npm start\b/m);
    expect(readme).toMatch(/^npm test\b/m);
  });
});
