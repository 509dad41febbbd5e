import { describe, expect, it } from "vitest";
import { bot4 } from "./cli.ts";

/**
 * The `bot4` command as a shell runs it, its output read from a pipe: a large answer arrives whole.
 * (Exiting without waiting for the pipe to drain cut `bot4 analyze --json | jq` at 64 KiB.)
 */
describe("bot4 output through a pipe", () => {
  it("hands over a JSON report larger than a pipe's buffer whole", async () => {
    const run = await bot4(["analyze", "core", "--json"]);
    expect(run.code).toBe(0);
    expect(Buffer.byteLength(run.stdout)).toBeGreaterThan(65_536);
    const report = JSON.parse(run.stdout) as { duplicates: unknown[]; complexity: unknown[] };
    expect(Array.isArray(report.duplicates)).toBe(true);
    expect(report.complexity.length).toBeGreaterThan(0);
  }, 60_000);
});
