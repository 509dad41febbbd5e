#!/usr/bin/env node
// A TypeScript entry run as plain node, without tsx: bundled with esbuild (installed with tsx) into
// .bot4/cache/ (git-ignored) on first use and again whenever one of its sources is newer than the
// bundle. Packages stay external (resolved from node_modules as usual), except those in INLINE:
// zod, imported by most modules, loads as ~100 ES modules in ~60 ms of CPU, bundled in ~25 ms
// (its copy in the bundle is the only one the bundle's code sees). Build output is never
// committed. `node bin/bundled.mjs <entry.ts> [args…]` runs the entry with the remaining arguments
// (`--build <entry.ts>…` only builds);
// bot4.mjs imports `importBundled` for the analysis commands.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

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

async function build(entry, bundle, manifest) {
  const esbuild = await import("esbuild");
  const r = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    plugins: [externals],
    metafile: true,
    write: false,
    absWorkingDir: ROOT,
    logLevel: "error",
  });
  mkdirSync(CACHE, { recursive: true });
  // Written aside and renamed: a concurrent run sees either the old bundle or the whole new one.
  const tmp = `${bundle}.${process.pid}.tmp`;
  writeFileSync(tmp, r.outputFiles[0].contents);
  writeFileSync(`${manifest}.${process.pid}.tmp`, JSON.stringify(Object.keys(r.metafile.inputs)));
  renameSync(`${manifest}.${process.pid}.tmp`, manifest);
  renameSync(tmp, bundle);
}

/** The bundle of `entry` (a path from the repository root), built when stale. */
export async function ensureBundle(entry) {
  const abs = resolve(ROOT, entry);
  const key = createHash("sha1").update(abs).digest("hex").slice(0, 8);
  const bundle = join(CACHE, `${basename(abs).replace(/\.ts$/, "")}-${key}.mjs`);
  const manifest = `${bundle}.inputs.json`;
  if (!fresh(bundle, manifest)) await build(abs, bundle, manifest);
  return bundle;
}

/** Imports the bundle of `entry`, building it when stale. */
export async function importBundled(entry) {
  return import(pathToFileURL(await ensureBundle(entry)).href);
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
