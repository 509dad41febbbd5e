import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { analyzeSources } from "../core/analysis/analyze.ts";
import { readSources } from "../core/analysis/workspace.ts";

/**
 * bin/bundled.mjs as the bench and the CLI run it: a plain-node process from an esbuild bundle. An
 * entry that imports only Node's built-ins runs as CommonJS from V8's code cache (the build's, then
 * the one its first run writes); the answer is the same as from source, with or without the cache.
 */

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const ENTRY = join("bench", "architect-dup.ts");
const bundled = (...args: string[]) =>
  execFileSync(process.execPath, [join("bin", "bundled.mjs"), ...args], { maxBuffer: 64 * 1024 * 1024 });

const BODY = (name: string) => `export function ${name}(xs: number[], limit: number): number {
  let acc = 0;
  for (const x of xs) {
    if (x > limit) acc += x * 2;
    else if (x < -limit) acc -= x * 3;
    else acc += 1;
  }
  return acc > 100 ? acc / 2 : acc;
}
`;

describe("bin/bundled.mjs", () => {
  it("runs a built-ins-only entry from its code cache, answering as the source does", () => {
    const root = mkdtempSync(join(tmpdir(), "bot4-bundled-"));
    dirs.push(root);
    writeFileSync(join(root, "a.ts"), BODY("a"));
    writeFileSync(join(root, "b.ts"), BODY("b"));
    bundled("--build", ENTRY);
    const cache = join(".bot4", "cache");
    // The newest: a cache can still hold a bundle named by an older scheme (a sha1 of the entry's path).
    const cjs = readdirSync(cache)
      .filter((f) => /^architect-dup-.*\.cjs$/.test(f))
      .sort((a, b) => statSync(join(cache, b)).mtimeMs - statSync(join(cache, a)).mtimeMs)[0];
    expect(cjs, "a CommonJS build beside the ES one").toBeDefined();
    const codeCache = join(cache, `${cjs}.v8cache`);
    rmSync(codeCache, { force: true });

    const pairsOf = (out: Buffer) => JSON.parse(out.toString("utf8")).pairs as unknown[];
    const first = pairsOf(bundled(ENTRY, root));
    expect(existsSync(codeCache), "the first run leaves the code cache").toBe(true);
    const written = statSync(codeCache).mtimeMs;
    const second = pairsOf(bundled(ENTRY, root));
    expect(statSync(codeCache).mtimeMs, "an accepted cache is not rewritten").toBe(written);
    // A cache no newer than the bundle is the build's (the top level only): the next run replaces it.
    const esm = statSync(join(cache, (cjs as string).replace(/\.cjs$/, ".mjs")));
    utimesSync(codeCache, esm.atime, esm.mtime);
    const third = pairsOf(bundled(ENTRY, root));
    expect(statSync(codeCache).mtimeMs).toBeGreaterThan(esm.mtimeMs);

    const files = readSources(root).map((f) => ({ path: `${root}/${f.path}`, text: f.text }));
    const expected = analyzeSources(files, { parts: ["duplicates"] }).duplicates;
    expect(expected.length).toBe(1);
    expect(first).toEqual(expected);
    expect(second).toEqual(expected);
    expect(third).toEqual(expected);
  });
});
