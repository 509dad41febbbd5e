import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { analyzeSources, clearAnalysisCache, type SourceFile } from "../../core/analysis/analyze.ts";
import type { ClonePair } from "../../core/analysis/duplicates.ts";
import { analyzePath } from "../../core/analysis/run.ts";
import { readSources } from "../../core/analysis/workspace.ts";
import { Bus } from "../../adapters/nats/bus.ts";
import { callTool } from "../../adapters/nats/tool-transport.ts";
import { ensureTopology } from "../../adapters/nats/topology.ts";
import { loadConfig } from "../../core/config.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { startLocalFunctions } from "../../functions/local.ts";
import type { BenchCase, BenchResult } from "../harness.ts";
import { measureSequential } from "../harness.ts";

/**
 * The architect's duplication against jscpd 5.3.2 (its Rust engine) in the same run, on this
 * repository and on a fixed corpus of installed packages (zod's TypeScript sources and hono's built
 * JavaScript, ≥ 100,000 lines): wall time of each as a whole process (medians of alternating launches), recall of jscpd's clone pairs
 * (a pair is found when one of ours joins the same two files with overlapping lines on both sides),
 * and our type-2 pairs that overlap none of jscpd's. Then the warm time in the running function
 * (find_duplicates over NATS, the seed's 73 ms) and in process, and a full analyze_code per part.
 */
const CORPUS = ["node_modules/zod/src", "node_modules/hono/dist"];
const REPO = ["."];

interface JscpdPair {
  firstFile: { name: string; start: number; end: number };
  secondFile: { name: string; start: number; end: number };
}

function wall<T>(fn: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = fn();
  return { value, ms: Math.round((performance.now() - t0) * 10) / 10 };
}

/** Launches of each tool per corpus (after one launch each that warms the file cache, not counted). */
const ROUNDS = 5;

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

function runJscpd(paths: readonly string[], gitignore: boolean): { pairs: JscpdPair[]; ms: number } {
  const out = mkdtempSync(join(tmpdir(), "bot4-jscpd-"));
  try {
    // The repository is read as git lists it (as ours is); the installed packages are git-ignored.
    const args = ["-r", "json", "-o", out, "--format", "typescript,javascript", "--silent"];
    if (!gitignore) args.push("--no-gitignore");
    const bin = join("node_modules", ".bin", "jscpd");
    const { ms } = wall(() => execFileSync(bin, [...args, ...paths], { stdio: "ignore" }));
    const report = JSON.parse(readFileSync(join(out, "jscpd-report.json"), "utf8")) as {
      duplicates: JscpdPair[];
    };
    return { pairs: report.duplicates, ms };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function runOurs(paths: readonly string[]): {
  pairs: ClonePair[];
  ms: number;
  inner: Record<string, number>;
} {
  const { value, ms } = wall(() =>
    // As plain node from its esbuild bundle (bin/bundled.mjs, as `bot4 analyze` runs), built beforehand.
    execFileSync(
      process.execPath,
      [join("bin", "bundled.mjs"), join("bench", "architect-dup.ts"), ...paths],
      {
        maxBuffer: 512 * 1024 * 1024,
      },
    ),
  );
  const r = JSON.parse(value.toString("utf8")) as { pairs: ClonePair[]; timings_ms: Record<string, number> };
  return { pairs: r.pairs, ms, inner: r.timings_ms };
}

const norm = (p: string) => p.replace(/^\.\//, "");
/** jscpd names files relative to the folder given on its command line: ours are made the same. */
const relTo = (paths: readonly string[]) => (p: string) => {
  const dir = paths.map((d) => `${norm(d)}/`).find((d) => d !== "./" && p.startsWith(d));
  return dir === undefined ? p : p.slice(dir.length);
};
const overlap = (a1: number, a2: number, b1: number, b2: number) => a1 <= b2 && b1 <= a2;

function matches(j: JscpdPair, o: ClonePair): boolean {
  const f1 = norm(j.firstFile.name);
  const f2 = norm(j.secondFile.name);
  const same = (x: JscpdPair["firstFile"], y: ClonePair["a"]) =>
    overlap(x.start, x.end, y.startLine, y.endLine);
  if (o.a.file === f1 && o.b.file === f2) return same(j.firstFile, o.a) && same(j.secondFile, o.b);
  if (o.a.file === f2 && o.b.file === f1) return same(j.secondFile, o.a) && same(j.firstFile, o.b);
  return false;
}

function compare(jscpd: JscpdPair[], all: ClonePair[], paths: readonly string[]) {
  const rel = relTo(paths);
  const ours = all.map((o) => ({
    ...o,
    a: { ...o.a, file: rel(o.a.file) },
    b: { ...o.b, file: rel(o.b.file) },
  }));
  const found = jscpd.filter((j) => ours.some((o) => matches(j, o))).length;
  const extras = ours.filter((o) => o.kind === "type2" && !jscpd.some((j) => matches(j, o))).length;
  return { found, recall: jscpd.length === 0 ? 1 : found / jscpd.length, extras };
}

function sources(paths: readonly string[]): SourceFile[] {
  const out: SourceFile[] = [];
  for (const dir of paths) {
    for (const f of readSources(dir)) out.push({ path: norm(`${dir}/${f.path}`), text: f.text });
  }
  return out;
}

async function sideBySide(
  name: string,
  paths: readonly string[],
  gitignore: boolean,
  ctx: { log: (l: string) => void },
): Promise<BenchResult> {
  const files = sources(paths);
  const lines = files.reduce((s, f) => s + f.text.split("\n").length, 0);
  // Both as whole processes, alternating, ROUNDS times: one launch each swings by ±15 % on these
  // machines, so the figures are the medians (every round's listed in the notes).
  const jscpdMs: number[] = [];
  const oursMs: number[] = [];
  let jscpd = runJscpd(paths, gitignore);
  let ours = runOurs(paths);
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      jscpd = runJscpd(paths, gitignore);
      ours = runOurs(paths);
    } else {
      ours = runOurs(paths);
      jscpd = runJscpd(paths, gitignore);
    }
    jscpdMs.push(jscpd.ms);
    oursMs.push(ours.ms);
  }
  const jscpdMedian = median(jscpdMs);
  const oursMedian = median(oursMs);
  clearAnalysisCache();
  const cpu0 = process.cpuUsage();
  const cold = wall(() => analyzeSources(files, { parts: ["duplicates"] }, `bench:${name}`));
  const cpu = process.cpuUsage(cpu0);
  const warmCpu0 = process.cpuUsage();
  const warm = wall(() => analyzeSources(files, { parts: ["duplicates"] }, `bench:${name}`));
  const warmCpu = process.cpuUsage(warmCpu0);
  const cmp = compare(jscpd.pairs, ours.pairs, paths);
  ctx.log(
    `${name}: ${files.length} files, ${lines} lines; jscpd ${jscpd.pairs.length} pairs in ${jscpdMedian} ms; ours ${ours.pairs.length} pairs (${ours.pairs.filter((p) => p.kind === "type1").length} type 1) in ${oursMedian} ms (medians of ${ROUNDS} alternating launches each)`,
  );
  return {
    case: `architect duplication vs jscpd: ${name}`,
    unit: "whole process",
    notes: {
      files: files.length,
      lines,
      jscpd_ms: jscpdMedian,
      ours_process_ms: oursMedian,
      ours_vs_jscpd: Math.round((oursMedian / jscpdMedian) * 1000) / 1000,
      jscpd_rounds_ms: jscpdMs.join("/"),
      ours_rounds_ms: oursMs.join("/"),
      ours_in_process_cold_ms: cold.ms,
      ours_in_process_cold_cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
      ours_in_process_warm_ms: warm.ms,
      ours_in_process_warm_cpu_ms: Math.round((warmCpu.user + warmCpu.system) / 1000),
      load_average_1m: Math.round(loadavg()[0] ?? 0),
      ours_scan_ms: ours.inner.tokenize ?? 0,
      ours_detect_ms: ours.inner.duplicates ?? 0,
      jscpd_pairs: jscpd.pairs.length,
      ours_pairs: ours.pairs.length,
      recall_of_jscpd: Math.round(cmp.recall * 1000) / 1000,
      type2_extras: cmp.extras,
    },
  };
}

const architectCase: BenchCase = {
  name: "architect",
  order: 80,
  async run(ctx): Promise<BenchResult[]> {
    const results: BenchResult[] = [];
    // The bundle is built once here, so the timed runs measure start-up and analysis only.
    execFileSync(process.execPath, [
      join("bin", "bundled.mjs"),
      "--build",
      join("bench", "architect-dup.ts"),
    ]);
    results.push(await sideBySide("this repository", REPO, true, ctx));
    results.push(await sideBySide("zod/src + hono/dist", CORPUS, false, ctx));

    // Warm, in the running function: find_duplicates over NATS on this repository.
    const logger = quietLogger("bench-architect");
    const bus = await Bus.connect({ url: ctx.natsUrl, name: "bench-architect", logger });
    await ensureTopology(bus);
    const config = loadConfig({ LOG_LEVEL: "silent", ENVIRONMENT: "test" });
    const fns = await startLocalFunctions({ config, bus, logger }, { only: ["architect"] });
    try {
      const iterations = Math.max(5, Math.round(20 * ctx.scale));
      const tool = await measureSequential(
        () => callTool(bus, "architect", "find_duplicates", { path: ".", limit: 0 }, { timeout: 60_000 }),
        iterations,
        3,
      );
      results.push({
        case: "architect find_duplicates warm, in the running function",
        unit: "tool call over NATS",
        latency: tool.latency,
        throughput: tool.throughput,
        notes: { target_ms: 73, p50_ms: Math.round(tool.latency.p50_us / 100) / 10 },
      });
      const inproc = await measureSequential(
        () => analyzePath({ path: ".", parts: ["duplicates"] }),
        iterations,
        3,
      );
      results.push({
        case: "architect duplication warm, in process (read + cached scan; the clone search reused: no file changed)",
        unit: "analysis",
        latency: inproc.latency,
        throughput: inproc.throughput,
      });
    } finally {
      await fns.stop();
      await bus.drain();
    }

    // Full analyze_code of this repository, per part: cold (no cache) and warm.
    clearAnalysisCache();
    const cold = analyzePath({ path: "." }).result.timings_ms;
    const warm = analyzePath({ path: "." }).result.timings_ms;
    results.push({
      case: "architect analyze_code cold, per part (ms)",
      unit: "analysis",
      notes: { ...cold },
    });
    results.push({
      case: "architect analyze_code warm, per part (ms)",
      unit: "analysis",
      notes: { ...warm },
    });
    return results;
  },
};

export default architectCase;
