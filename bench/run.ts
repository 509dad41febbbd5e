import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startNatsServer } from "../infra/nats-server/process.ts";
import { type BenchCase, type BenchResult, machineInfo } from "./harness.ts";

const here = dirname(fileURLToPath(import.meta.url));

async function loadCases(filter: string[]): Promise<BenchCase[]> {
  const dir = join(here, "cases");
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));
  const cases: BenchCase[] = [];
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { default?: BenchCase };
    if (mod.default === undefined) throw new Error(`bench/cases/${file} has no default-exported BenchCase`);
    cases.push(mod.default);
  }
  return cases
    .filter((c) => filter.length === 0 || filter.some((f) => c.name.includes(f)))
    .sort((a, b) => (a.order ?? 100) - (b.order ?? 100) || a.name.localeCompare(b.name));
}

function fmt(n: number | undefined, digits = 1): string {
  return n === undefined ? "-" : n.toLocaleString("en-US", { maximumFractionDigits: digits });
}

function printRow(r: BenchResult): void {
  const l = r.latency;
  const cols = [
    r.case.padEnd(52),
    fmt(l?.p50_us).padStart(10),
    fmt(l?.p90_us).padStart(10),
    fmt(l?.p99_us).padStart(10),
    fmt(l?.max_us).padStart(11),
    fmt(r.throughput, 0).padStart(13),
    `  ${r.unit}`,
  ];
  console.log(cols.join(""));
  if (r.notes !== undefined) {
    const notes = Object.entries(r.notes).map(([k, v]) => `${k}=${typeof v === "number" ? fmt(v, 3) : v}`);
    console.log(`${"".padEnd(4)}↳ ${notes.join("  ")}`);
  }
}

async function main(): Promise<void> {
  const filter = process.argv.slice(2);
  const scale = Number(process.env.BENCH_SCALE ?? "1");
  const machine = machineInfo();
  console.log(
    `Bot4 bench — ${machine.cpu_model}, ${machine.cores} cores, ${machine.memory_gib} GiB, node ${machine.node}`,
  );
  const nats = await startNatsServer();
  console.log(`private nats-server at ${nats.url} (store ${nats.storeDir})\n`);
  const header = [
    "case".padEnd(52),
    "p50 µs".padStart(10),
    "p90 µs".padStart(10),
    "p99 µs".padStart(10),
    "max µs".padStart(11),
    "ops/s".padStart(13),
    "  unit",
  ];
  const results: BenchResult[] = [];
  try {
    const cases = await loadCases(filter);
    console.log(header.join(""));
    for (const c of cases) {
      const rows = await c.run({ natsUrl: nats.url, scale, log: (line) => console.log(`    · ${line}`) });
      for (const r of rows) {
        printRow(r);
        results.push(r);
      }
    }
  } finally {
    await nats.stop({ clean: true });
  }
  const out = join(here, "results", `bench-${new Date().toISOString().replaceAll(":", "-")}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ time: new Date().toISOString(), machine, scale, results }, null, 2));
  writeFileSync(
    join(here, "results", "latest.json"),
    JSON.stringify({ time: new Date().toISOString(), machine, scale, results }, null, 2),
  );
  console.log(`\nwrote ${out}`);
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
