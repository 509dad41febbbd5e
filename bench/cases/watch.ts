import { loadavg } from "node:os";
import { loadConfig } from "../../core/config.ts";
import { quietLogger } from "../../core/telemetry/log.ts";
import { Registry } from "../../core/telemetry/metrics.ts";
import { newMemory } from "../../functions/infra/derive.ts";
import { cycleOf, exportSeries } from "../../functions/infra/schedule.ts";
import { validateContracts } from "../../functions/integration/validator.ts";
import { startSystem } from "../../infra/local/system.ts";
import { type BenchCase, type BenchResult, measureSequential } from "../harness.ts";

/**
 * The system watching itself, on the whole system as `npm start` runs it (every service and function
 * in one process, on the bench's private nats-server):
 *   IntegrationValidator — one run over every tool of every running agent with the default inputs
 *     per tool (VALIDATE_INPUTS_PER_TOOL = 50), over HTTP, JSON-RPC, NATS and MCP; the bound is 60 s;
 *   InfraEngineer — its scrape-and-evaluate cycle (registry, every agent's /metrics, every stream and
 *     consumer, account info, derive, export, publish the tick) at the default 5 s interval: time and
 *     CPU per cycle. The CPU is the process's, so it includes the agents answering /metrics (they are
 *     in the same process), which is what a cycle costs the system.
 */
const watchCase: BenchCase = {
  name: "watch",
  order: 90,
  async run(ctx): Promise<BenchResult[]> {
    const config = loadConfig({
      BOT4_PORT_OFFSET: String(20_000 + Math.floor(Math.random() * 20_000)),
      BOT4_DATA_DIR: "/tmp/bot4-bench-watch",
      VALIDATE_ON_REGISTER: "false",
      LOG_LEVEL: "error",
    });
    const system = await startSystem(config, ctx.natsUrl, quietLogger("bench-watch"));
    const results: BenchResult[] = [];
    try {
      // Let the first heartbeats, the paper feed and the functions settle.
      await new Promise((r) => setTimeout(r, 3_000));
      const cpu0 = process.cpuUsage();
      const report = await validateContracts(
        system.bus,
        { runId: "bench" },
        { inputs_per_tool: config.VALIDATE_INPUTS_PER_TOOL },
      );
      const cpu = process.cpuUsage(cpu0);
      ctx.log(
        `validator: ${report.totals.tools} tools of ${report.totals.agents} agents, ${report.totals.inputs} inputs, ${report.totals.failures} failures in ${(report.durationMs / 1000).toFixed(1)} s`,
      );
      results.push({
        case: "validator: every tool of the running system",
        unit: "validation run",
        latency: {
          count: 1,
          p50_us: report.durationMs * 1000,
          p90_us: report.durationMs * 1000,
          p99_us: report.durationMs * 1000,
          max_us: report.durationMs * 1000,
          mean_us: report.durationMs * 1000,
        },
        notes: {
          seconds: report.durationMs / 1000,
          bound_s: 60,
          tools: report.totals.tools,
          agents: report.totals.agents,
          inputs: report.totals.inputs,
          generated_per_tool: report.inputsPerTool,
          inputs_per_s: report.totals.inputs / (report.durationMs / 1000),
          failures: report.totals.failures,
          process_cpu_s: (cpu.user + cpu.system) / 1e6,
          load_avg_1m: loadavg()[0] ?? 0,
        },
      });

      const cycle = cycleOf(
        system.bus,
        { intervalMs: config.INFRA_INTERVAL_MS },
        exportSeries(new Registry()),
        newMemory(),
      );
      const cycles = Math.max(10, Math.round(40 * ctx.scale));
      let samples = 0;
      const c0 = process.cpuUsage();
      const run = await measureSequential(
        async () => {
          samples = (await cycle.run()).samples;
        },
        cycles,
        3,
      );
      const c = process.cpuUsage(c0);
      results.push({
        case: "InfraEngineer scrape-and-evaluate cycle",
        unit: "cycle",
        ...run,
        notes: {
          agents_scraped: system.services.length,
          series: samples,
          cpu_ms_per_cycle: (c.user + c.system) / 1000 / (cycles + 3),
          interval_ms: config.INFRA_INTERVAL_MS,
          cpu_share_of_interval: (c.user + c.system) / 1000 / (cycles + 3) / config.INFRA_INTERVAL_MS,
          load_avg_1m: loadavg()[0] ?? 0,
        },
      });
    } finally {
      await system.stop();
    }
    return results;
  },
};

export default watchCase;
