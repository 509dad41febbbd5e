import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import { RpcCode } from "../protocol/jsonrpc.ts";
import { quietLogger } from "../telemetry/log.ts";
import { ToolError } from "../tools/errors.ts";
import type { Tool } from "../tools/tool.ts";

/**
 * The process's CPU pool (piscina): CPU-heavy tools (Monte Carlo, optimisation, backtests, training)
 * run here so the event loop that serves every agent of the process (health probes, orders) stays
 * free. Cheap tools never pay the hop. Each call has a deadline: past it the worker running it is
 * terminated (the work really stops) and the call fails with a Timeout error naming the tool.
 */
export interface PoolOptions {
  /** Worker threads; default: cores − 1, at least 1 (BOT4_CPU_WORKERS). */
  threads?: number;
}

/** The default deadline of one pooled call (BOT4_CPU_DEADLINE_MS). */
export const DEFAULT_DEADLINE_MS = 60_000;

let shared: Piscina | undefined;

const WORKER = new URL("./worker.mjs", import.meta.url);
let workerShipped: boolean | undefined;

/**
 * Whether this build can start pool workers: false inside a one-file bundle (a Lambda), which ships
 * neither the worker entry nor the task modules. There one invocation has its process to itself, so
 * a pooled tool runs its handler in thread.
 */
export function poolAvailable(): boolean {
  workerShipped ??= WORKER.protocol === "file:" && existsSync(fileURLToPath(WORKER));
  return workerShipped;
}

export function cpuPool(options: PoolOptions = {}): Piscina {
  if (shared !== undefined) return shared;
  const threads = options.threads ?? Math.max(1, availableParallelism() - 1);
  shared = new Piscina({
    filename: WORKER.href,
    minThreads: 1,
    maxThreads: threads,
    idleTimeout: 60_000,
    // Queued calls wait for a worker; the per-call deadline covers the wait too.
    maxQueue: "auto",
  });
  return shared;
}

/** Stops the pool's workers (tests, shutdown). */
export async function closeCpuPool(): Promise<void> {
  const p = shared;
  shared = undefined;
  await p?.destroy();
}

interface Answer {
  ok: boolean;
  value?: unknown;
  error?: { name: string; message: string; code?: number; data?: unknown };
}

/**
 * Runs `fn` of `module` (a file URL of a TypeScript module) in the pool with `args` (structured-clone
 * data), within `deadlineMs`. A ToolError thrown there comes back as a ToolError.
 */
export async function runPooled(
  module: string,
  fn: string,
  args: unknown,
  what: string,
  options: PoolCallOptions = {},
): Promise<unknown> {
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  let answer: Answer;
  try {
    answer = (await cpuPool(options).run(
      { module, fn, args },
      { signal: AbortSignal.timeout(deadlineMs) },
    )) as Answer;
  } catch (err) {
    if (err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError"))
      throw new ToolError(
        RpcCode.Timeout,
        `${what} did not finish within ${deadlineMs} ms (BOT4_CPU_DEADLINE_MS); the work was stopped`,
      );
    throw err;
  }
  if (answer.ok) return answer.value;
  const e = answer.error ?? { name: "Error", message: "worker failed" };
  if (e.name === "ToolError" && e.code !== undefined) throw new ToolError(e.code, e.message, e.data);
  throw Object.assign(new Error(e.message), { name: e.name });
}

export interface PoolCallOptions extends PoolOptions {
  /** Milliseconds before the call is cut (BOT4_CPU_DEADLINE_MS). */
  deadlineMs?: number;
}

/** The pool settings of the config. */
export const poolOptionsOf = (config: {
  BOT4_CPU_DEADLINE_MS?: number | undefined;
  BOT4_CPU_WORKERS?: number | undefined;
}): PoolCallOptions => ({
  ...(config.BOT4_CPU_DEADLINE_MS === undefined ? {} : { deadlineMs: config.BOT4_CPU_DEADLINE_MS }),
  ...(config.BOT4_CPU_WORKERS === undefined ? {} : { threads: config.BOT4_CPU_WORKERS }),
});

/**
 * The same tool, its handler run in the pool: `fn` of `module` gets `{ tool, args }` (the parsed args;
 * {@link toolRunner} makes such a function). `when` keeps a call on the main thread when it is cheap
 * (e.g. parametric VaR); so does a build without pool workers ({@link poolAvailable}). Input and
 * output are still validated by the registry on the main thread.
 */
export function pooled<T extends Tool>(
  tool: T,
  module: string,
  fn: string,
  options: PoolCallOptions & { when?: (args: unknown) => boolean } = {},
): T {
  return {
    ...tool,
    handler: (args: unknown, ctx: Parameters<T["handler"]>[1]) =>
      (options.when !== undefined && !options.when(args)) || !poolAvailable()
        ? tool.handler(args as never, ctx)
        : runPooled(module, fn, { tool: tool.name, args }, tool.name, options),
  } as T;
}

/** What {@link pooled} hands the worker: the tool's name and the args the registry already parsed. */
export interface PooledTask {
  tool: string;
  args: unknown;
}

/**
 * The worker side of {@link pooled}: a function (export it from `module`) that runs the named tool's
 * own handler among `build()`'s tools (built once per worker), with a context of its own.
 */
export function toolRunner(
  owner: string,
  build: () => readonly Tool[],
): (task: PooledTask) => Promise<unknown> {
  let tools: Map<string, Tool> | undefined;
  return async ({ tool, args }) => {
    tools ??= new Map(build().map((t) => [t.name, t]));
    const t = tools.get(tool);
    if (t === undefined) throw new Error(`no pooled ${owner} tool ${tool}`);
    return t.handler(args as never, {
      requestId: "pool",
      correlationId: "pool",
      transport: "local",
      logger: quietLogger(`${owner}-pool`),
    });
  };
}
