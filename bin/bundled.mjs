#!/usr/bin/env node
// A TypeScript entry run as plain node, without tsx: bundled with esbuild (installed with tsx) into
// .bot4/cache/ (git-ignored) on first use and again whenever one of its sources is newer than the
// bundle. Packages stay external (resolved from node_modules as usual), except those in INLINE:
// zod, imported by most modules, loads as ~100 ES modules in ~60 ms of CPU, bundled in ~25 ms
// (its copy in the bundle is the only one the bundle's code sees). Build output is never
// committed. `node bin/bundled.mjs <entry.ts> [args…]` runs the entry with the remaining arguments
// (`--build <entry.ts>…` only builds);
// bot4.mjs imports `importBundled` for the analysis commands.
// An entry that imports nothing but Node's built-in modules is also bundled as CommonJS and run from
// V8's code cache (vm.Script cachedData beside the bundle: the build writes one of the top level,
// the first run's exit one with the functions that ran too, rewritten whenever V8 rejects it):
// Node 20's ES module loader has no code cache, and compiling a bundle with zod in it took ~25 ms
// of every short run (3–8 ms from the cache).
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import vm from "node:vm";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CACHE = join(ROOT, ".bot4", "cache");
/** Packages bundled in rather than imported from node_modules at run time. */
const INLINE = new Set(["zod"]);

/** The package a bare specifier names (`zod/v4` → `zod`, `@nats-io/jetstream/x` → `@nats-io/jetstream`). */
const packageOf = (spec) =>
  spec
    .split("/")
    .slice(0, spec.startsWith("@") ? 2 : 1)
    .join("/");

/** esbuild plugin: every bare specifier external unless its package is in INLINE. */
const externals = {
  name: "externals",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (a) =>
      INLINE.has(packageOf(a.path)) ? undefined : { path: a.path, external: true },
    );
  },
};

/** True when the bundle's recorded sources are all older than it. */
function fresh(bundle, manifest) {
  try {
    const built = statSync(bundle).mtimeMs;
    // This file counts as a source too: a change of how bundles are built rebuilds them.
    const inputs = [...JSON.parse(readFileSync(manifest, "utf8")), "bin/bundled.mjs"];
    return inputs.every((p) => statSync(join(ROOT, p)).mtimeMs <= built);
  } catch {
    return false; // no bundle yet, or a source was removed
  }
}

const BASE = {
  bundle: true,
  platform: "node",
  target: "node20",
  plugins: [externals],
  metafile: true,
  write: false,
  logLevel: "error",
};

/** The CommonJS bundle beside an ES one, and its code cache. */
const cjsOf = (bundle) => bundle.replace(/\.mjs$/, ".cjs");
const codeCacheOf = (cjs) => `${cjs}.v8cache`;

/** Whether every import the bundle leaves to Node names a built-in module (`node:…`). */
const builtinsOnly = (metafile) =>
  Object.values(metafile.inputs).every((i) =>
    i.imports.every((m) => !m.external || m.path.startsWith("node:")),
  );

/**
 * The CommonJS build of `entry`, or undefined when it has none (top-level await). `import.meta.url`
 * stays the bundle's own URL, as in the ES build beside it.
 */
async function cjsBuild(esbuild, entry) {
  try {
    const r = await esbuild.build({
      ...BASE,
      entryPoints: [entry],
      format: "cjs",
      absWorkingDir: ROOT,
      define: { "import.meta.url": "__bundleUrl" },
      banner: { js: 'var __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
    });
    return r.outputFiles[0].contents;
  } catch {
    return undefined;
  }
}

/** Writes aside and renames: a concurrent run sees either the old file or the whole new one. */
function writeAtomically(path, contents) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
}

async function build(entry, bundle, manifest) {
  const esbuild = await import("esbuild");
  const r = await esbuild.build({ ...BASE, entryPoints: [entry], format: "esm", absWorkingDir: ROOT });
  const cjs = builtinsOnly(r.metafile) ? await cjsBuild(esbuild, entry) : undefined;
  mkdirSync(CACHE, { recursive: true });
  rmSync(codeCacheOf(cjsOf(bundle)), { force: true });
  if (cjs === undefined) rmSync(cjsOf(bundle), { force: true });
  else {
    writeAtomically(cjsOf(bundle), cjs);
    // A first code cache (the top level only): the first run starts from it and replaces it.
    writeAtomically(codeCacheOf(cjsOf(bundle)), scriptOf(cjsOf(bundle)).createCachedData());
  }
  writeAtomically(manifest, JSON.stringify(Object.keys(r.metafile.inputs)));
  // Last: the ES bundle's time is what `fresh` compares the sources with.
  writeAtomically(bundle, r.outputFiles[0].contents);
}

/** The script of a CommonJS bundle, from `cachedData` when given and accepted. */
function scriptOf(file, cachedData) {
  const source = readFileSync(file, "utf8");
  // The module wrapper on the bundle's first line (line numbers in stack traces stay the bundle's),
  // strict as the ES modules it was made of (the bundle's own "use strict" comes after the banner).
  const wrapped = `(function (exports, require, module, __filename, __dirname) {"use strict";${source}\n})`;
  return new vm.Script(wrapped, {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
}

/**
 * Runs a CommonJS bundle from its code cache; its exports. The cache is (re)written at exit when it
 * is missing, rejected, or the build's (no newer than the ES bundle `built` ms: the top level only).
 */
function runCached(file, built) {
  const cacheFile = codeCacheOf(file);
  let cachedData;
  let stale = true;
  try {
    cachedData = readFileSync(cacheFile);
    stale = statSync(cacheFile).mtimeMs <= built;
  } catch {
    cachedData = undefined; // removed: made again at exit
  }
  const script = scriptOf(file, cachedData);
  if (stale || script.cachedDataRejected) {
    // At exit the cache holds the functions that ran too, not only the top level.
    process.once("exit", () => {
      try {
        writeAtomically(cacheFile, script.createCachedData());
      } catch {
        // a read-only checkout: run without a cache
      }
    });
  }
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  return module.exports;
}

/**
 * A 32-bit FNV-1a hash of `s` in hex: the bundle's name apart from its entry's (node:crypto is not
 * loaded for it; a few ms of every short run).
 */
function nameHash(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}

/** The bundle of `entry` (a path from the repository root), built when stale. */
export async function ensureBundle(entry) {
  const abs = resolve(ROOT, entry);
  const key = nameHash(abs);
  const bundle = join(CACHE, `${basename(abs).replace(/\.ts$/, "")}-${key}.mjs`);
  const manifest = `${bundle}.inputs.json`;
  if (!fresh(bundle, manifest)) await build(abs, bundle, manifest);
  return bundle;
}

/** Imports the bundle of `entry` (its CommonJS build from the code cache when it has one), built when stale. */
export async function importBundled(entry) {
  const bundle = await ensureBundle(entry);
  const cjs = cjsOf(bundle);
  let hasCjs = true;
  try {
    statSync(cjs);
  } catch {
    hasCjs = false;
  }
  return hasCjs ? runCached(cjs, statSync(bundle).mtimeMs) : import(pathToFileURL(bundle).href);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const entry = process.argv[2];
  if (entry === undefined) {
    process.stderr.write("usage: node bin/bundled.mjs <entry.ts> [args…]\n");
    process.exit(2);
  }
  if (entry === "--build") {
    for (const e of process.argv.slice(3)) await ensureBundle(resolve(e));
  } else {
    process.argv.splice(1, 1); // the entry sees itself as argv[1], its arguments from argv[2]
    await importBundled(resolve(entry));
  }
}
