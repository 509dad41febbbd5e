import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { deflateRawSync } from "node:zlib";
import { build, type Plugin } from "esbuild";
import { type FunctionAgent, functionAgents } from "../../core/agents/manifest.ts";
import { agentProcess } from "../../core/agents/process.ts";

/** One function agent's Lambda bundle: a single ESM file exporting `handler`. */
export interface FunctionBundle {
  readonly agent: string;
  /** Absolute path of `<outDir>/<agent>.mjs`. */
  readonly file: string;
  /** The Lambda handler string for this file (`<agent>.handler`). */
  readonly handler: string;
  readonly bytes: number;
}

export interface BundleReport {
  readonly bundles: readonly FunctionBundle[];
  /** Function agents of the manifest without a `functions/<name>/handler.ts` yet. */
  readonly missing: readonly string[];
}

/**
 * Packages that cannot be bundled (native addons), with the packages they need at run time. A bundle
 * that imports one gets it in its deployment package, Linux binaries only (SST: `nodejs.install`).
 */
export const NATIVE_EXTERNALS = {
  "onnxruntime-node": { runtimeDeps: ["onnxruntime-common"] },
} as const satisfies Record<string, { runtimeDeps: readonly string[] }>;

/**
 * ccxt loads its protobuf-based parts (MEXC websockets, dYdX signing) with dynamic imports that need
 * the optional peer dependency protobufjs, which Bot4 does not install. Those imports stay dynamic
 * and unresolved in the bundle, so they fail at run time exactly as they do in the repository (ccxt
 * then reports the feature as not supported) instead of failing the build.
 */
const optionalProtobuf: Plugin = {
  name: "bot4-optional-protobuf",
  setup(b) {
    b.onResolve({ filter: /protobuf|dydx-v4-client/ }, (args) =>
      args.kind === "dynamic-import" ? { path: args.path, external: true } : undefined,
    );
  },
};

/**
 * ESM bundles of CommonJS dependencies (pino, typescript, …) need the CommonJS module scope: `require`
 * (Node gives it to ESM through createRequire) and `__filename`/`__dirname` (from import.meta.url).
 * TypeScript, in the architect's and quality's bundles, takes `require` as the sign of Node and then
 * reads `__filename` while the module loads.
 */
const REQUIRE_SHIM = [
  "import { createRequire as __bot4CreateRequire } from 'node:module';",
  "import { fileURLToPath as __bot4FileURLToPath } from 'node:url';",
  "import { dirname as __bot4Dirname } from 'node:path';",
  "const require = __bot4CreateRequire(import.meta.url);",
  "const __filename = __bot4FileURLToPath(import.meta.url);",
  "const __dirname = __bot4Dirname(__filename);",
].join(" ");

/**
 * Bundles `functions/<name>/handler.ts` of every function agent that has one (esbuild: one ESM file
 * per function, Node 20, minified, with a source map), into `outDir/<name>.mjs`.
 */
export async function bundleFunctions(
  root: string,
  outDir: string,
  agents: readonly FunctionAgent[] = functionAgents,
): Promise<BundleReport> {
  mkdirSync(outDir, { recursive: true });
  const bundles: FunctionBundle[] = [];
  const missing: string[] = [];
  for (const agent of agents) {
    const entry = join(root, agentProcess.handlerFile(agent.name));
    if (!existsSync(entry)) {
      missing.push(agent.name);
      continue;
    }
    const file = join(outDir, `${agent.name}.mjs`);
    await build({
      entryPoints: [entry],
      outfile: file,
      bundle: true,
      platform: "node",
      target: "node20",
      format: "esm",
      minify: true,
      legalComments: "none",
      external: Object.keys(NATIVE_EXTERNALS),
      banner: { js: REQUIRE_SHIM },
      plugins: [optionalProtobuf],
      logLevel: "silent",
    });
    bundles.push({ agent: agent.name, file, handler: `${agent.name}.handler`, bytes: statSync(file).size });
  }
  return { bundles, missing };
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) c = (CRC_TABLE[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A zip archive (deflate) of the given files, as Lambda's `ZipFile` wants it. Written here because the
 * format needs forty lines, not a dependency.
 */
export function zip(files: readonly { name: string; data: Uint8Array }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const f of files) {
    const name = Buffer.from(f.name, "utf8");
    const compressed = deflateRawSync(f.data);
    const crc = crc32(f.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt32LE(0, 10); // time, date
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(f.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x031e, 4); // made by: unix, 3.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(0, 12);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(f.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // -rw-r--r--
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, compressed);
    centrals.push(central, name);
    offset += local.length + name.length + compressed.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

/** Every file under `dir`, relative to `base`, skipping directories `skip` rejects. */
function walk(dir: string, base: string, skip: (rel: string) => boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const rel = relative(base, path);
    if (skip(rel)) continue;
    if (entry.isDirectory()) out.push(...walk(path, base, skip));
    else if (entry.isFile()) out.push(rel);
  }
  return out;
}

/**
 * The `node_modules/…` files of the native packages a bundle imports, for a Lambda of `arch`: the
 * package's JavaScript and its Linux binaries for that architecture only (onnxruntime-node ships
 * every platform; Linux x64 alone is 45 MB).
 */
export function nativePackageFiles(
  root: string,
  bundleText: string,
  arch: "x64" | "arm64" = "x64",
): string[] {
  const packages = Object.entries(NATIVE_EXTERNALS)
    .filter(([name]) => bundleText.includes(`"${name}"`))
    .flatMap(([name, spec]) => [name, ...spec.runtimeDeps]);
  const otherBinaries = (rel: string) => {
    const bin = /(^|\/)bin\/napi-v\d+\/([^/]+)(\/([^/]+))?/.exec(rel);
    if (bin === null) return false;
    return bin[2] !== "linux" || (bin[4] !== undefined && bin[4] !== arch);
  };
  return [...new Set(packages)].flatMap((name) => {
    const dir = join(root, "node_modules", name);
    return walk(dir, root, (rel) => otherBinaries(rel) || rel.endsWith(".map") || rel.endsWith(".d.ts"));
  });
}

/**
 * The deployment package of one bundle: the .mjs at the archive's root, and under node_modules/ the
 * native packages it imports.
 */
export function zipBundle(bundle: FunctionBundle, root: string): Buffer {
  const text = readFileSync(bundle.file);
  const files = [{ name: `${bundle.agent}.mjs`, data: new Uint8Array(text) }];
  for (const rel of nativePackageFiles(root, text.toString("utf8"))) {
    files.push({ name: rel.split("\\").join("/"), data: new Uint8Array(readFileSync(join(root, rel))) });
  }
  return zip(files);
}
